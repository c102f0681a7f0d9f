/*
 * test_http.c - the HTTP/JSON API (registry/http) over a real client API handler and
 * executor: health, readiness, status, metrics, submitting txs as msgpack and as JSON, every
 * error path (404, 405, 415, 400, 413), the slow-loris header deadline, and the refusal of
 * plain HTTP on a non-loopback address. A raw socket client, so nothing here hides what
 * goes over the wire.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "client_api.h"
#include "http_api.h"
#include "http_json.h"
#include "http_static.h"
#include "httpsig.h"
#include "metrics.h"
#include "sample.h"
#include "testutil.h"
#include "world.h"

static world w;
static char dir[256];
static capi *api;
static http_api *server;
static http_node_status status_now;
static atomic_int submitted;

static void test_submit(void *ctx, const codec_span *txs, uint32_t count,
                        codec_submit_result *results)
{
    (void)ctx, (void)txs;
    for (uint32_t i = 0; i < count; i++) results[i].status = 0;
    atomic_fetch_add(&submitted, (int)count);
}

static uint64_t world_clock(void *ctx)
{
    (void)ctx;
    return w.now_ms;
}

static void test_status(void *ctx, http_node_status *out)
{
    (void)ctx;
    *out = status_now;
}

static void test_metrics(void *ctx, FILE *out)
{
    (void)ctx;
    node_metrics m = {.height = status_now.height, .committed_txs = status_now.committed_txs};
    metrics_observe(&m.commit_latency, 3.0);
    node_metrics_write(&m, out);
}

static uint32_t events_poll_ms; /* 0: the server's default; set before start() */
static http_config envelope_limits; /* its envelope_* fields; 0: the defaults; set before start() */

static void start(uint32_t body_max, uint32_t deadline_ms)
{
    http_config cfg = {.address = "127.0.0.1:0", .handler = capi_handle_as, .handler_ctx = api,
                       .status = test_status, .metrics = test_metrics, .body_max = body_max,
                       .chain_id = w.chain_id, .clock = world_clock,
                       .header_deadline_ms = deadline_ms, .events_poll_ms = events_poll_ms,
                       .envelope_ttl_max_ms = envelope_limits.envelope_ttl_max_ms,
                       .envelopes_max = envelope_limits.envelopes_max,
                       .envelope_bytes_max = envelope_limits.envelope_bytes_max};
    char why[300];
    server = http_open(&cfg, why, sizeof why);
    cr_assert_not_null(server, "%s", why);
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/trialreg-http-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    cr_assert_eq(world_init(&w, "http-test"), 0);
    cr_assert_eq(world_open(&w, dir, true), 0);
    capi_config cc = {.executor = w.e, .submit = test_submit, .clock = world_clock,
                      .skew_ms = 30000, .blocks_max = 8};
    api = capi_open(&cc);
    cr_assert_not_null(api);
    status_now = (http_node_status){.node = 2, .height = 7, .view = 1, .primary = 1,
                                    .caught_up = true, .committed_txs = 40};
    atomic_store(&submitted, 0);
    events_poll_ms = 0;
    memset(&envelope_limits, 0, sizeof envelope_limits);
}

static void teardown(void)
{
    http_close(server);
    server = NULL;
    capi_close(api);
    world_close(&w);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(http, .init = setup, .fini = teardown, .timeout = 60);

static int dial(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(http_port(server))};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

/* Send head + body, read the whole response (the request says Connection: close). */
typedef struct {
    int status;
    char text[65536];
    const char *body;
} response;

static void exchange(const char *method, const char *path, const char *type, const void *body,
                     size_t len, response *r)
{
    int fd = dial();
    char head[1024];
    int n = snprintf(head, sizeof head,
                     "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n%s%s%s"
                     "Content-Length: %zu\r\n\r\n",
                     method, path, type ? "Content-Type: " : "", type ? type : "",
                     type ? "\r\n" : "", len);
    cr_assert_eq(write(fd, head, (size_t)n), n);
    if (len) cr_assert_eq(write(fd, body, len), (ssize_t)len);
    size_t got = 0;
    for (ssize_t k; (k = read(fd, r->text + got, sizeof r->text - 1 - got)) > 0;) got += (size_t)k;
    r->text[got] = '\0';
    close(fd);
    cr_assert_eq(sscanf(r->text, "HTTP/1.1 %d", &r->status), 1, "no status line in: %s", r->text);
    const char *b = strstr(r->text, "\r\n\r\n");
    r->body = b ? b + 4 : "";
}

static response *get(const char *path)
{
    static response r;
    exchange("GET", path, NULL, NULL, 0, &r);
    return &r;
}

Test(http, health_readiness_and_status)
{
    start(0, 0);
    response *r = get("/healthz");
    cr_expect_eq(r->status, 200);
    cr_expect_str_eq(r->body, "ok\n");
    cr_expect_eq(get("/readyz")->status, 200);
    r = get("/v1/status");
    cr_expect_eq(r->status, 200);
    cr_expect(strstr(r->body, "\"height\":7") && strstr(r->body, "\"primary\":1")
              && strstr(r->body, "\"ready\":true"), "%s", r->body);
    cr_expect(strstr(r->text, "Content-Type: application/json") != NULL, "%s", r->text);
    status_now.view_changing = true;
    r = get("/readyz");
    cr_expect_eq(r->status, 503);
    cr_expect(strstr(r->body, "changing view") != NULL, "%s", r->body);
    status_now.view_changing = false;
    status_now.caught_up = false;
    r = get("/readyz");
    cr_expect_eq(r->status, 503);
    cr_expect(strstr(r->body, "catching up") != NULL, "%s", r->body);
}

Test(http, metrics_are_prometheus_text)
{
    start(0, 0);
    get("/nowhere");
    response *r = get("/metrics");
    cr_expect_eq(r->status, 200);
    cr_expect(strstr(r->text, "Content-Type: text/plain; version=0.0.4") != NULL, "%s", r->text);
    cr_expect(strstr(r->body, "# TYPE trialreg_height gauge\ntrialreg_height 7\n") != NULL, "%s", r->body);
    cr_expect(strstr(r->body, "trialreg_committed_txs_total 40\n") != NULL, "%s", r->body);
    cr_expect(strstr(r->body, "trialreg_http_responses_total{class=\"4xx\"} 1\n") != NULL, "%s", r->body);
    cr_expect(strstr(r->body, "trialreg_commit_latency_seconds_bucket{le=\"0.005\"} 1\n") != NULL,
              "%s", r->body);
    cr_expect(strstr(r->body, "trialreg_commit_latency_seconds_count 1\n") != NULL, "%s", r->body);
}

static size_t signed_tx(uint8_t *out, size_t cap)
{
    codec_value args[] = {world_text("T-HTTP"), world_int(1)};
    size_t len = world_sign(&w, &w.regulator, WORLD_NEXT_NONCE, NULL, "protocol", "approve",
                            args, 2, NULL, 0, out, cap);
    cr_assert_gt(len, 0);
    return len;
}

Test(http, a_tx_submitted_as_msgpack_is_accepted_and_named_by_its_id)
{
    start(0, 0);
    uint8_t tx[2048];
    size_t len = signed_tx(tx, sizeof tx);
    response r;
    exchange("POST", "/v1/txs", "application/msgpack", tx, len, &r);
    cr_expect_eq(r.status, 200, "%s", r.text);
    hash32 id;
    char hex[65];
    tcrypto_sha256(tx, len, &id);
    tcrypto_to_hex(id.bytes, 32, hex);
    char want[160];
    snprintf(want, sizeof want, "{\"results\":[{\"tx_id\":\"%s\",\"accepted\":true}]}", hex);
    cr_expect_str_eq(r.body, want);
    cr_expect_eq(atomic_load(&submitted), 1);
}

Test(http, a_json_batch_gets_an_answer_per_tx)
{
    start(0, 0);
    uint8_t tx[2048];
    size_t len = signed_tx(tx, sizeof tx);
    char b64[TCRYPTO_BASE64_LEN(2048)], body[8192];
    tcrypto_base64_encode(tx, len, b64);
    /* the second is base64 of bytes that are no tx: refused alone, the first accepted */
    snprintf(body, sizeof body, "{\"txs\": [\"%s\", \"AAECAw==\"]}", b64);
    response r;
    exchange("POST", "/v1/txs", "application/json", body, strlen(body), &r);
    cr_expect_eq(r.status, 200, "%s", r.text);
    cr_expect(strstr(r.body, "\"accepted\":true") != NULL, "%s", r.body);
    cr_expect(strstr(r.body, "\"accepted\":false,\"error\":\"BAD_BODY\"") != NULL, "%s", r.body);
    cr_expect_eq(atomic_load(&submitted), 1);
}

Test(http, bad_requests_get_clear_errors)
{
    start(1024, 0);
    response r;
    cr_expect_eq(get("/v2/anything")->status, 404);
    cr_expect(strstr(get("/v2/anything")->body, "\"error\":\"NOT_FOUND\"") != NULL);
    cr_expect_eq(get("/v1/txs")->status, 405);
    exchange("POST", "/v1/txs", "text/plain", "x", 1, &r);
    cr_expect_eq(r.status, 415, "%s", r.text);
    exchange("POST", "/v1/txs", "application/json", "{\"txs\": [", 9, &r);
    cr_expect_eq(r.status, 400, "%s", r.text);
    cr_expect(strstr(r.body, "BAD_JSON") != NULL, "%s", r.body);
    exchange("POST", "/v1/txs", "application/json", "{\"txs\": []}", 11, &r);
    cr_expect_eq(r.status, 400, "%s", r.text);
    exchange("POST", "/v1/txs", "application/json", "{\"txs\": [\"not base64!\"]}", 24, &r);
    cr_expect_eq(r.status, 400, "%s", r.text);
    /* a media type that only starts like JSON, a key given twice (which one would count?) */
    exchange("POST", "/v1/txs", "application/jsonfoo", "{\"txs\": []}", 11, &r);
    cr_expect_eq(r.status, 415, "%s", r.text);
    const char *twice = "{\"txs\": [\"AAAA\"], \"txs\": [\"AAAA\"]}";
    exchange("POST", "/v1/txs", "application/json; charset=utf-8", twice, strlen(twice), &r);
    cr_expect(r.status == 400 && strstr(r.body, "BAD_JSON") && strstr(r.body, "duplicate"), "%s", r.text);
    static char big[4096];
    memset(big, 'a', sizeof big);
    exchange("POST", "/v1/txs", "application/msgpack", big, sizeof big, &r);
    cr_expect_eq(r.status, 413, "%s", r.text);
    cr_expect(strstr(r.body, "exceeds 1024 bytes") != NULL, "%s", r.body);
    cr_expect_eq(atomic_load(&submitted), 0);
}

/* The header's value in a response, or "" (case-insensitive name, up to the line end). */
static const char *header(const response *r, const char *name, char *out, size_t cap)
{
    out[0] = '\0';
    for (const char *line = strstr(r->text, "\r\n"); line && line < r->body; line = strstr(line + 2, "\r\n")) {
        if (strncasecmp(line + 2, name, strlen(name)) != 0 || line[2 + strlen(name)] != ':') continue;
        const char *v = line + 2 + strlen(name) + 1, *end = strstr(v, "\r\n");
        while (*v == ' ') v++;
        snprintf(out, cap, "%.*s", (int)(end - v), v);
        break;
    }
    return out;
}

Test(http, the_pages_are_served_with_their_types_the_csp_and_nosniff_and_hash_to_the_bundle)
{
    start(0, 0);
    char value[512];
    cr_assert_gt(HTTP_STATIC_FILE_COUNT, 2);
    for (size_t i = 0; i < HTTP_STATIC_FILE_COUNT; i++) {
        const http_static_file *f = &HTTP_STATIC_FILES[i];
        char path[256];
        snprintf(path, sizeof path, "/app/%s", f->path);
        response *r = get(path);
        cr_expect_eq(r->status, 200, "%s: %d", path, r->status);
        cr_expect_str_eq(header(r, "Content-Type", value, sizeof value), f->type, "%s", path);
        cr_expect(strstr(header(r, "Content-Security-Policy", value, sizeof value), "default-src 'self'")
                  && strstr(value, "connect-src 'self'"), "%s: CSP %s", path, value);
        cr_expect_str_eq(header(r, "X-Content-Type-Options", value, sizeof value), "nosniff", "%s", path);
        cr_expect(strlen(r->text) - (size_t)(r->body - r->text) >= f->len
                  && memcmp(r->body, f->data, f->len) == 0, "%s is not served byte for byte", path);
        if (i > 0) cr_expect_lt(strcmp(HTTP_STATIC_FILES[i - 1].path, f->path), 0, "the table is not sorted");
    }
    response *r = get("/app/");
    cr_expect_eq(r->status, 200);
    cr_expect(strstr(r->body, "<title>trialreg") != NULL, "/app/ is not index.html");
    r = get("/app/SHA256SUMS");
    cr_expect_eq(r->status, 200);
    hash32 listing;
    char hex[65];
    tcrypto_sha256((const uint8_t *)r->body, strlen(r->body), &listing);
    tcrypto_to_hex(listing.bytes, 32, hex);
    cr_expect_str_eq(hex, http_bundle_sha256(), "the listing does not hash to the bundle hash");
    cr_expect(strstr(r->body, "  js/verify.mjs\n") != NULL, "%s", r->body);
    r = get("/app");
    cr_expect_eq(r->status, 301);
    cr_expect_str_eq(header(r, "Location", value, sizeof value), "/app/");
    cr_expect_eq(get("/app/nothing.html")->status, 404);
    cr_expect_eq(get("/app/../v1/status")->status, 404);
    cr_expect_eq(get("/app/js")->status, 404);
    cr_expect_eq(get("/application")->status, 404);
    exchange("POST", "/app/index.html", "text/plain", "x", 1, r);
    cr_expect_eq(r->status, 405);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

Test(http, request_headers_sent_too_slowly_are_cut_and_others_still_served)
{
    start(0, 600);
    int slow = dial();
    double t0 = now_s();
    cr_assert_eq(write(slow, "GET /healthz HTTP/1.1\r\nHost: local", 34), 34);
    /* keep trickling a byte every 200 ms: never idle, never done */
    char buf[256];
    ssize_t k = -2;
    for (int i = 0; i < 20; i++) {
        struct pollfd p = {slow, POLLIN, 0};
        if (poll(&p, 1, 200) == 1) {
            k = read(slow, buf, sizeof buf);
            break;
        }
        if (write(slow, "h", 1) != 1) {
            k = -1;
            break;
        }
    }
    double took = now_s() - t0;
    cr_expect(k <= 0, "the slow connection got an answer instead of being cut");
    cr_expect(took < 2.5, "cut after %.2f s (deadline 0.6 s)", took);
    close(slow);
    cr_expect_eq(get("/healthz")->status, 200, "a prompt client is served");
    response *r = get("/metrics");
    cr_expect(strstr(r->body, "trialreg_http_deadline_cuts_total 1\n") != NULL, "%s", r->body);
}

Test(http, plain_http_is_refused_on_a_non_loopback_address)
{
    http_config cfg = {.address = "0.0.0.0:0", .handler = capi_handle_as, .handler_ctx = api};
    char why[300];
    cr_assert_null(http_open(&cfg, why, sizeof why));
    cr_expect(strstr(why, "not a loopback address") != NULL, "%s", why);
    cfg.address = "localhost";
    cr_assert_null(http_open(&cfg, why, sizeof why));
    cr_expect(strstr(why, "HOST:PORT") != NULL, "%s", why);
}

/* The example trial's consent grants as JSON: the witness's meaning and the granted scopes
 * in words, the participant's key in hex, the status word. */
Test(http, txs_and_receipts_render_as_json_with_words_and_decoded_events)
{
    cr_assert_eq(scenario_run(&w, NULL), 0);
    ledger_summary head;
    ledger_head(w.l, &head);
    static codec_span txs[CODEC_BLOCK_TXS_MAX], receipts[CODEC_BLOCK_TXS_MAX];
    static codec_write writes[CODEC_WRITES_MAX];
    static codec_receipt r;
    int grants = 0, pruned = 0;
    for (uint64_t h = 1; h <= head.height; h++) {
        uint8_t *data;
        size_t len;
        cr_assert_eq(ledger_get_block(w.l, h, &data, &len), LEDGER_OK);
        codec_block b = {.txs = txs, .receipts = receipts, .writes = writes};
        cr_assert_eq(codec_block_decode(data, len, &b, CODEC_BLOCK_TXS_MAX, CODEC_WRITES_MAX, NULL),
                     CODEC_OK);
        for (uint32_t i = 0; i < b.tx_count; i++) {
            json_t *tx = http_json_tx(&txs[i]);
            cr_assert_not_null(tx, "height %llu tx %u renders", (unsigned long long)h, i);
            cr_assert_eq(codec_receipt_decode(receipts[i].data, receipts[i].len, &r, NULL), CODEC_OK);
            json_t *rc = http_json_receipt(&r);
            cr_assert_not_null(rc);
            cr_expect_str_eq(json_string_value(json_object_get(tx, "tx_id")),
                             json_string_value(json_object_get(rc, "tx_id")));
            pruned += json_is_true(json_object_get(tx, "pruned"));
            const char *method = json_string_value(json_object_get(tx, "method"));
            const char *status = json_string_value(json_object_get(rc, "status"));
            if (method && strcmp(method, "grant") == 0 && strcmp(status, "OK") == 0) {
                char *t = json_dumps(tx, JSON_COMPACT), *e = json_dumps(rc, JSON_COMPACT);
                cr_expect(strstr(t, "\"meaning\":\"witness\"") != NULL, "%s", t);
                cr_expect(strstr(e, "\"topic\":\"consent.granted\"") != NULL, "%s", e);
                cr_expect(strstr(e, "\"scopes\":[\"main\"") != NULL, "%s", e);
                cr_expect(strstr(e, "\"trial\":\"" SCENARIO_TRIAL "\"") != NULL, "%s", e);
                free(t);
                free(e);
                grants++;
            }
            json_decref(tx);
            json_decref(rc);
        }
        free(data);
    }
    cr_expect_gt(grants, 2);
    cr_expect_gt(pruned, 0, "the scenario has pruned txs, rendered with their route");
}

/* ---- signed reads (RFC 9421) ----------------------------------------------------------- */

static const char *no_headers(void *ctx, const char *name)
{
    (void)ctx, (void)name;
    return NULL;
}

/* GET target signed by key (created: seconds; chain: the tag's chain), extra header lines
 * (each ending in \r\n) added; the headers are kept in *sig_lines for a replay. */
static void signed_get(const char *target, const keypair *key, int64_t created,
                       const hash32 *chain, const char *extra, response *r, char *sig_lines)
{
    char path[1024], input[600], sig[200];
    snprintf(path, sizeof path, "%s", target);
    char *q = strchr(path, '?');
    if (q) *q++ = '\0';
    httpsig_request rq = {"GET", path, q, "localhost", no_headers, NULL};
    cr_assert(httpsig_sign(&rq, false, key, chain, created, input, sizeof input, sig, sizeof sig));
    snprintf(sig_lines, 900, "Signature-Input: %s\r\nSignature: %s\r\n%s", input, sig,
             extra ? extra : "");
    int fd = dial();
    char head[2048];
    int n = snprintf(head, sizeof head, "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: "
                     "close\r\n%s\r\n", target, sig_lines);
    cr_assert_eq(write(fd, head, (size_t)n), n);
    size_t got = 0;
    for (ssize_t k; (k = read(fd, r->text + got, sizeof r->text - 1 - got)) > 0;) got += (size_t)k;
    r->text[got] = '\0';
    close(fd);
    cr_assert_eq(sscanf(r->text, "HTTP/1.1 %d", &r->status), 1, "%s", r->text);
    const char *b = strstr(r->text, "\r\n\r\n");
    r->body = b ? b + 4 : "";
}

static int64_t world_s(void) { return (int64_t)(w.now_ms / 1000); }

/* The id of tx 0 of block 1 (the sponsor's registration) in hex. */
static void first_tx_id(char hex[65])
{
    uint8_t *data;
    size_t len;
    cr_assert_eq(ledger_get_block(w.l, 1, &data, &len), LEDGER_OK);
    static codec_span txs[CODEC_BLOCK_TXS_MAX], receipts[CODEC_BLOCK_TXS_MAX];
    static codec_write writes[CODEC_WRITES_MAX];
    codec_block b = {.txs = txs, .receipts = receipts, .writes = writes};
    cr_assert_eq(codec_block_decode(data, len, &b, CODEC_BLOCK_TXS_MAX, CODEC_WRITES_MAX, NULL), CODEC_OK);
    hash32 id;
    tcrypto_sha256(txs[0].data, txs[0].len, &id);
    tcrypto_to_hex(id.bytes, 32, hex);
    free(data);
}

Test(http, a_receipt_is_read_by_its_roles_and_refused_to_the_others)
{
    cr_assert_eq(scenario_run(&w, NULL), 0);
    start(0, 0);
    char id[65], target[128], lines[900];
    first_tx_id(id);
    snprintf(target, sizeof target, "/v1/receipts/%s", id);
    response r;
    signed_get(target, &w.regulator, world_s(), &w.chain_id, NULL, &r, lines);
    cr_expect_eq(r.status, 200, "%s", r.text);
    cr_expect(strstr(r.body, "\"status\":\"OK\"") && strstr(r.body, "\"method\":\"register\""),
              "the receipt and its tx, decoded: %s", r.body);
    signed_get(target, &w.sponsor, world_s(), &w.chain_id, "Accept: application/msgpack\r\n", &r, lines);
    cr_expect_eq(r.status, 200, "%s", r.text);
    cr_expect(strstr(r.text, "Content-Type: application/msgpack") != NULL, "%s", r.text);
    signed_get(target, &w.researcher, world_s(), &w.chain_id, NULL, &r, lines);
    cr_expect_eq(r.status, 403, "%s", r.text);
    cr_expect(strstr(r.body, "DENIED") && strstr(r.body, "may not read this receipt"), "%s", r.body);
    /* a replay of the regulator's exact request */
    signed_get(target, &w.regulator, world_s() - 1, &w.chain_id, NULL, &r, lines);
    cr_expect_eq(r.status, 200, "%s", r.text);
    int fd = dial();
    char head[2048];
    int n = snprintf(head, sizeof head, "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n%s\r\n",
                     target, lines);
    cr_assert_eq(write(fd, head, (size_t)n), n);
    size_t got = 0;
    for (ssize_t k; (k = read(fd, r.text + got, sizeof r.text - 1 - got)) > 0;) got += (size_t)k;
    r.text[got] = '\0';
    close(fd);
    cr_expect(strstr(r.text, "HTTP/1.1 401") && strstr(r.text, "REPLAYED"), "a replay: %s", r.text);
    /* stale, another chain, no signature, another path under the same signature */
    signed_get(target, &w.regulator, world_s() - 120, &w.chain_id, NULL, &r, lines);
    cr_expect(r.status == 401 && strstr(r.body, "STALE"), "%s", r.text);
    hash32 other;
    tcrypto_sha256("another chain", 13, &other);
    signed_get(target, &w.regulator, world_s(), &other, NULL, &r, lines);
    cr_expect(r.status == 401 && strstr(r.body, "not this chain"), "%s", r.text);
    cr_expect_eq(get(target)->status, 401);
    cr_expect(strstr(get(target)->body, "not signed") != NULL);
    /* the researcher's signature claiming the regulator's keyid */
    signed_get(target, &w.researcher, world_s(), &w.chain_id, NULL, &r, lines);
    char reg[65], res[65], forged[900];
    tcrypto_to_hex(w.regulator.public_key.bytes, 32, reg);
    tcrypto_to_hex(w.researcher.public_key.bytes, 32, res);
    snprintf(forged, sizeof forged, "%s", lines);
    char *at = strstr(forged, res);
    cr_assert_not_null(at);
    memcpy(at, reg, 64);
    fd = dial();
    n = snprintf(head, sizeof head, "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n%s\r\n",
                 target, forged);
    cr_assert_eq(write(fd, head, (size_t)n), n);
    got = 0;
    for (ssize_t k; (k = read(fd, r.text + got, sizeof r.text - 1 - got)) > 0;) got += (size_t)k;
    r.text[got] = '\0';
    close(fd);
    cr_expect(strstr(r.text, "HTTP/1.1 401") && strstr(r.text, "does not verify"),
              "a signature under another key's keyid: %s", r.text);
}

Test(http, blocks_trial_consent_and_timeline_answer_by_role)
{
    cr_assert_eq(scenario_run(&w, NULL), 0);
    start(0, 0);
    response r;
    char lines[900], target[256], pk[65];
    signed_get("/v1/blocks?from=1&count=2", &w.regulator, world_s(), &w.chain_id, NULL, &r, lines);
    cr_expect_eq(r.status, 200, "%s", r.text);
    cr_expect(strstr(r.body, "\"height\":1") && strstr(r.body, "\"height\":2"), "%s", r.body);
    signed_get("/v1/blocks?from=1&count=2", &w.sponsor, world_s(), &w.chain_id, NULL, &r, lines);
    cr_expect_eq(r.status, 403, "only validators, regulators and the auditor read blocks: %s", r.text);
    signed_get("/v1/blocks?from=0", &w.regulator, world_s(), &w.chain_id, NULL, &r, lines);
    cr_expect_eq(r.status, 400, "%s", r.text);
    signed_get("/v1/trials/" SCENARIO_TRIAL, &w.sponsor, world_s(), &w.chain_id, NULL, &r, lines);
    cr_expect(r.status == 200 && strstr(r.body, "\"trial\":\"" SCENARIO_TRIAL "\""), "%s", r.text);
    signed_get("/v1/trials/" SCENARIO_TRIAL, &w.researcher, world_s(), &w.chain_id, NULL, &r, lines);
    cr_expect_eq(r.status, 403, "%s", r.text);
    tcrypto_to_hex(w.participants[0].public_key.bytes, 32, pk);
    snprintf(target, sizeof target, "/v1/trials/%s/participants/%s/consent", SCENARIO_TRIAL, pk);
    signed_get(target, &w.participants[0], world_s(), &w.chain_id, NULL, &r, lines);
    cr_expect(r.status == 200 && strstr(r.body, "\"kind\":\"grant\"")
              && strstr(r.body, "\"witness_meaning\":\"witness\""), "%s", r.text);
    signed_get(target, &w.participants[1], world_s(), &w.chain_id, NULL, &r, lines);
    cr_expect_eq(r.status, 403, "another participant: %s", r.text);
    signed_get("/v1/trials/" SCENARIO_TRIAL "/timeline", &w.regulator, world_s(), &w.chain_id,
               "Accept: text/plain\r\n", &r, lines);
    cr_expect(r.status == 200 && strstr(r.body, "protocol.register"), "%s", r.text);
    signed_get("/v1/trials/" SCENARIO_TRIAL "/nothing", &w.regulator, world_s(), &w.chain_id, NULL, &r, lines);
    cr_expect_eq(r.status, 404, "%s", r.text);
}

/* Issue 23 item 2: a withdrawal the site recorded on the participant's documented request is
 * a history entry of its own kind in the JSON, naming the request, the investigator and the
 * approving regulator (docs/HTTP.md, openapi.yaml). */
Test(http, a_site_recorded_withdrawal_reads_as_such_in_the_consent_history)
{
    cr_assert_eq(scenario_run(&w, NULL), 0);
    static hash32 request;
    request = world_hash("p0's signed request");
    codec_value args[] = {world_text(SCENARIO_TRIAL), world_bytes(w.participants[0].public_key.bytes, 32),
                          world_int(31), world_bytes(request.bytes, 32)};
    world_cosig reg = {&w.regulator, MEANING_APPROVAL};
    codec_receipt rc;
    cr_assert_eq(world_run(&w, 60000, &w.inv_a, "consent", "site_withdraw", args, 4, &reg, 1, &rc), 0);
    cr_assert_eq(rc.status, RECEIPT_OK, "%s", rc.reason);
    start(0, 0);
    response r;
    char lines[900], target[256], pk[65], want[200], hex[65];
    tcrypto_to_hex(w.participants[0].public_key.bytes, 32, pk);
    snprintf(target, sizeof target, "/v1/trials/%s/participants/%s/consent", SCENARIO_TRIAL, pk);
    signed_get(target, &w.regulator, world_s(), &w.chain_id, NULL, &r, lines);
    cr_assert_eq(r.status, 200, "%s", r.text);
    cr_expect(strstr(r.body, "\"kind\":\"site_withdrawal\"") != NULL, "%s", r.body);
    tcrypto_to_hex(request.bytes, 32, hex);
    snprintf(want, sizeof want, "\"request\":\"%s\"", hex);
    cr_expect(strstr(r.body, want) != NULL, "%s", r.body);
    tcrypto_to_hex(w.regulator.public_key.bytes, 32, hex);
    snprintf(want, sizeof want, "\"approved_by\":\"%s\"", hex);
    cr_expect(strstr(r.body, want) != NULL, "%s", r.body);
    tcrypto_to_hex(w.inv_a.public_key.bytes, 32, hex);
    snprintf(want, sizeof want, "\"recorded_by\":\"%s\"", hex);
    cr_expect(strstr(r.body, want) != NULL, "%s", r.body);
}

Test(http, the_public_history_needs_no_key_and_names_no_participant)
{
    cr_assert_eq(scenario_run(&w, NULL), 0);
    start(0, 0);
    response *r = get("/v1/trials/" SCENARIO_TRIAL "/history");
    cr_expect_eq(r->status, 200, "%s", r->text);
    cr_expect(strstr(r->body, "\"method\":\"protocol.register\"") != NULL, "%s", r->body);
    cr_expect(strstr(r->body, "\"receipt_file\":") != NULL);
    for (int i = 0; i < WORLD_PARTICIPANTS; i++) {
        char pk[65];
        tcrypto_to_hex(w.participants[i].public_key.bytes, 32, pk);
        cr_expect(strstr(r->body, pk) == NULL, "participant %d's key is in the public history", i);
    }
    cr_expect_eq(get("/v1/trials/NO-SUCH-TRIAL/history")->status, 404);
}

/* ---- the timeline as JSON, grant records, the read log (issue 20) ---------------------- */

/* A signed GET whose answer may be large: the status, and the body (malloc'd, NUL-ended). */
static char *signed_get_big(const char *target, const keypair *key, const char *extra, int *status)
{
    char path[1024], input[600], sig[200], head[2048];
    snprintf(path, sizeof path, "%s", target);
    char *q = strchr(path, '?');
    if (q) *q++ = '\0';
    httpsig_request rq = {"GET", path, q, "localhost", no_headers, NULL};
    static int64_t age; /* the same request signed again in the same second would be a replay */
    age = (age + 1) % 25;
    cr_assert(httpsig_sign(&rq, false, key, &w.chain_id, world_s() - age, input, sizeof input, sig, sizeof sig));
    int fd = dial();
    int n = snprintf(head, sizeof head, "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                     "Signature-Input: %s\r\nSignature: %s\r\n%s\r\n", target, input, sig, extra ? extra : "");
    cr_assert_eq(write(fd, head, (size_t)n), n);
    size_t cap = 1 << 16, got = 0;
    char *text = malloc(cap);
    for (ssize_t k; (k = read(fd, text + got, cap - 1 - got)) > 0;) {
        got += (size_t)k;
        if (got + 1 == cap) text = realloc(text, cap *= 2);
    }
    text[got] = '\0';
    close(fd);
    cr_assert_eq(sscanf(text, "HTTP/1.1 %d", status), 1, "%.300s", text);
    const char *b = strstr(text, "\r\n\r\n");
    char *body = strdup(b ? b + 4 : "");
    free(text);
    return body;
}

static json_t *signed_get_json(const char *target, const keypair *key, int want_status)
{
    int status;
    char *body = signed_get_big(target, key, NULL, &status);
    cr_assert_eq(status, want_status, "%s: %.500s", target, body);
    json_error_t err;
    json_t *doc = json_loads(body, 0, &err);
    cr_assert_not_null(doc, "%s: %s", err.text, body);
    free(body);
    return doc;
}

/* The txs of the text timeline as key reads it over HTTP (Accept: text/plain). */
static size_t text_timeline_txs(const keypair *key)
{
    int status;
    char *text = signed_get_big("/v1/trials/" SCENARIO_TRIAL "/timeline", key, "Accept: text/plain\r\n", &status);
    cr_assert_eq(status, 200, "%s", text);
    size_t n = 0;
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) n += p[0] == 'h';
    free(text);
    return n;
}

/* Every page of the JSON timeline as key: the entries (a new array); *pages the pages. */
static json_t *json_timeline(const keypair *key, int *pages)
{
    json_t *all = json_array();
    uint64_t from = 1;
    for (*pages = 0; *pages < 50; (*pages)++) {
        char target[256];
        snprintf(target, sizeof target, "/v1/trials/%s/timeline?from=%llu", SCENARIO_TRIAL, (unsigned long long)from);
        json_t *doc = signed_get_json(target, key, 200);
        json_array_extend(all, json_object_get(doc, "entries"));
        uint64_t next = (uint64_t)json_integer_value(json_object_get(doc, "next_height"));
        bool complete = json_is_true(json_object_get(doc, "complete"));
        json_decref(doc);
        cr_assert_gt(next, from);
        from = next;
        if (complete) {
            (*pages)++;
            break;
        }
    }
    return all;
}

/* Every event of every entry is decoded by its topic: fields, never a "data" hex blob. */
static size_t decoded_events(json_t *entries)
{
    size_t i, k, n = 0;
    json_t *e, *ev;
    json_array_foreach(entries, i, e) {
        json_array_foreach(json_object_get(json_object_get(e, "receipt"), "events"), k, ev) {
            cr_expect(json_is_object(json_object_get(ev, "fields")) && !json_object_get(ev, "data"),
                      "event %s is not decoded", json_string_value(json_object_get(ev, "topic")));
            n++;
        }
    }
    return n;
}

/* n anchors of participant 0's main-study records by site-a's investigator, one block. */
static void anchor_block(int n, int batch)
{
    static uint8_t bufs[200][512];
    static codec_span spans[200];
    static codec_receipt rs[200];
    uint64_t at = w.now_ms + 60000 - 1;
    for (int i = 0; i < n; i++) {
        char label[48];
        snprintf(label, sizeof label, "http bulk %d %d", batch, i);
        hash32 h = world_hash(label);
        codec_value a[] = {world_text(SCENARIO_TRIAL), world_bytes(w.participants[0].public_key.bytes, 32),
                           world_int(SCOPE_MAIN), world_int((int64_t)at), world_bytes(h.bytes, 32),
                           world_int(1000 + i)};
        spans[i].len = world_sign(&w, &w.inv_a, WORLD_NEXT_NONCE, NULL, "data", "anchor", a, 6, NULL, 0,
                                  bufs[i], sizeof bufs[i]);
        spans[i].data = bufs[i];
    }
    cr_assert_eq(world_commit(&w, 60000, spans, (uint32_t)n, rs), 0);
    for (int i = 0; i < n; i++) cr_assert_eq(rs[i].status, RECEIPT_OK, "%s", rs[i].reason);
}

/* Issue 20 item 1: GET /v1/trials/{T}/timeline answers JSON: per tx the asker may see (the
 * text timeline's filter), its place, its tx and receipt decoded (events as words), its
 * signer's name and role; in pages of whole blocks; text with Accept: text/plain. */
Test(http, the_timeline_is_json_by_role_with_decoded_events_in_pages)
{
    cr_assert_eq(scenario_run(&w, NULL), 0);
    start(0, 0);
    int pages;
    json_t *reg = json_timeline(&w.regulator, &pages);
    cr_expect_eq(pages, 1);
    cr_expect_eq(json_array_size(reg), text_timeline_txs(&w.regulator), "the regulator sees every tx");
    cr_expect_gt(decoded_events(reg), 10);
    json_t *first = json_array_get(reg, 0);
    cr_expect_eq(json_integer_value(json_object_get(first, "height")), 1);
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(first, "tx"), "method")), "register");
    cr_expect_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(first, "names"), 0), "role")),
                     "sponsor");
    cr_expect_str_eq(json_string_value(json_object_get(json_object_get(first, "receipt"), "status")), "OK");
    char *dump = json_dumps(reg, JSON_COMPACT);
    cr_expect(strstr(dump, "\"topic\":\"consent.granted\"") && strstr(dump, "\"meaning\":\"witness\"")
              && strstr(dump, "\"scopes\":[\"main\""), "consent events and co-signatures in words");
    free(dump);
    /* a participant: protocol-level txs and its own, nothing of another participant */
    json_t *p0 = json_timeline(&w.participants[0], &pages);
    cr_expect_eq(json_array_size(p0), text_timeline_txs(&w.participants[0]));
    cr_expect_lt(json_array_size(p0), json_array_size(reg));
    dump = json_dumps(p0, JSON_COMPACT);
    for (int i = 1; i < WORLD_PARTICIPANTS; i++) {
        char pk[65];
        tcrypto_to_hex(w.participants[i].public_key.bytes, 32, pk);
        cr_expect(strstr(dump, pk) == NULL, "participant %d in participant 0's timeline", i);
    }
    free(dump);
    /* site-b: its own participants' txs and the protocol-level ones */
    json_t *site_b = json_timeline(&w.inv_b, &pages);
    cr_expect_eq(json_array_size(site_b), text_timeline_txs(&w.inv_b));
    cr_expect_lt(json_array_size(site_b), json_array_size(reg));
    json_decref(p0);
    json_decref(site_b);
    json_decref(reg);
    /* no role, no signature, a bad cursor */
    int status;
    free(signed_get_big("/v1/trials/" SCENARIO_TRIAL "/timeline", &w.researcher, NULL, &status));
    cr_expect_eq(status, 403);
    cr_expect_eq(get("/v1/trials/" SCENARIO_TRIAL "/timeline")->status, 401);
    free(signed_get_big("/v1/trials/" SCENARIO_TRIAL "/timeline?from=0", &w.regulator, NULL, &status));
    cr_expect_eq(status, 400);
    /* 3 blocks of 150 txs: the first page ends after 256 entries, at a block boundary */
    for (int b = 0; b < 3; b++) anchor_block(150, b);
    json_t *doc = signed_get_json("/v1/trials/" SCENARIO_TRIAL "/timeline", &w.regulator, 200);
    json_t *entries = json_object_get(doc, "entries");
    uint64_t next = (uint64_t)json_integer_value(json_object_get(doc, "next_height"));
    uint64_t head = (uint64_t)json_integer_value(json_object_get(doc, "head_height"));
    cr_expect(!json_is_true(json_object_get(doc, "complete")));
    cr_expect_geq(json_array_size(entries), 256);
    cr_expect_lt(json_array_size(entries), 256 + 150);
    cr_expect_eq(next, head, "the page ends before the last block of anchors");
    json_t *last = json_array_get(entries, json_array_size(entries) - 1);
    cr_expect_eq(json_integer_value(json_object_get(last, "height")), (json_int_t)head - 1);
    cr_expect_eq(json_integer_value(json_object_get(last, "index")), 149, "whole blocks: the last one's last tx");
    json_decref(doc);
    char target[128];
    snprintf(target, sizeof target, "/v1/trials/%s/timeline?from=%llu", SCENARIO_TRIAL, (unsigned long long)next);
    doc = signed_get_json(target, &w.regulator, 200);
    cr_expect_eq(json_array_size(json_object_get(doc, "entries")), 150);
    cr_expect(json_is_true(json_object_get(doc, "complete")));
    cr_expect_eq(json_integer_value(json_object_get(json_array_get(json_object_get(doc, "entries"), 0), "index")), 0);
    json_decref(doc);
    reg = json_timeline(&w.regulator, &pages);
    cr_expect_eq(pages, 2);
    cr_expect_eq(json_array_size(reg), text_timeline_txs(&w.regulator), "the pages hold the whole timeline");
    json_decref(reg);
    site_b = json_timeline(&w.inv_b, &pages);
    cr_expect_eq(json_array_size(site_b), text_timeline_txs(&w.inv_b), "site-b sees none of site-a's anchors");
    json_decref(site_b);
}

/* Issue 20 item 2: a grant's records over HTTP for the researcher the grant names, as JSON;
 * the read log keeps the researcher's RFC 9421 request (form 2), which a regulator reads at
 * /read-log and verifies with the researcher's key and the chain id. */
Test(http, grant_records_are_read_by_their_researcher_and_logged_as_http_evidence)
{
    cr_assert_eq(scenario_run(&w, NULL), 0);
    start(0, 0);
    const char *records = "/v1/trials/" SCENARIO_TRIAL "/grants/1/records";
    json_t *doc = signed_get_json(records, &w.researcher, 200);
    cr_expect_eq(json_integer_value(json_object_get(doc, "grant")), 1);
    cr_expect_str_eq(json_string_value(json_array_get(json_object_get(doc, "scopes"), 0)), "main");
    cr_expect_gt(json_array_size(json_object_get(doc, "records")), 0);
    cr_expect(json_is_true(json_object_get(doc, "complete")));
    json_t *rec = json_array_get(json_object_get(doc, "records"), 0);
    cr_expect(json_is_string(json_object_get(rec, "participant")) && json_is_array(json_object_get(rec, "scopes")));
    json_decref(doc);
    doc = signed_get_json("/v1/trials/" SCENARIO_TRIAL "/grants/1/records?from=1", &w.researcher, 200);
    cr_expect_eq(json_integer_value(json_object_get(doc, "from")), 1);
    json_decref(doc);
    /* another key: 403; no signature: 401; no such grant: 404 */
    const keypair *others[] = {&w.sponsor, &w.regulator, &w.inv_a, &w.participants[0]};
    for (int i = 0; i < 4; i++) json_decref(signed_get_json(records, others[i], 403));
    cr_expect_eq(get(records)->status, 401);
    json_decref(signed_get_json("/v1/trials/" SCENARIO_TRIAL "/grants/9/records", &w.researcher, 404));
    json_decref(signed_get_json("/v1/trials/" SCENARIO_TRIAL "/grants/x/records", &w.researcher, 404));
    /* the read log: the two answered reads, each the researcher's HTTP request */
    doc = signed_get_json("/v1/trials/" SCENARIO_TRIAL "/read-log", &w.regulator, 200);
    cr_expect_eq(json_integer_value(json_object_get(doc, "total")), 2, "refusals are not logged");
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(doc, "entries"), i, e) {
        cr_expect_str_eq(json_string_value(json_object_get(e, "form")), "http");
        const char *b64 = json_string_value(json_object_get(e, "entry"));
        cr_assert_not_null(b64);
        uint8_t raw[CODEC_READ_LOG_ENTRY_MAX];
        size_t len = 0;
        cr_assert(tcrypto_base64_decode(b64, strlen(b64), raw, sizeof raw, &len));
        codec_read_log_entry le;
        cr_assert_eq(codec_read_log_entry_decode(raw, len, &le, NULL), CODEC_OK);
        static codec_http_evidence ev;
        cr_assert_eq(codec_http_evidence_decode(le.http.data, le.http.len, &ev, NULL), CODEC_OK);
        pubkey key;
        char why[256];
        cr_expect(httpsig_verify_recorded(ev.signature_input, ev.signature, ev.method, ev.target, ev.authority,
                                          &w.chain_id, NULL, 0, &key, why, sizeof why), "%s", why);
        cr_expect_eq(memcmp(key.bytes, w.researcher.public_key.bytes, 32), 0);
        cr_expect(codec_http_grant_target_matches(ev.target, (const uint8_t *)SCENARIO_TRIAL,
                                                  strlen(SCENARIO_TRIAL), le.grant, le.from));
    }
    json_decref(doc);
    json_decref(signed_get_json("/v1/trials/" SCENARIO_TRIAL "/read-log", &w.researcher, 403));
    json_decref(signed_get_json("/v1/trials/" SCENARIO_TRIAL "/read-log?from=9", &w.regulator, 404));
}

static keypair second_researcher;

static void add_researcher(codec_genesis *g, void *ctx)
{
    (void)ctx;
    sample_add_authority(g, ROLE_RESEARCHER, "", "researcher-2", &second_researcher);
}

/* The grant is made to the first researcher: a second researcher of the genesis, signing
 * correctly, is refused (403) and nothing is logged. */
Test(http, another_researcher_may_not_read_the_grant)
{
    capi_close(api);
    world_close(&w);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'/*", dir);
    cr_assert_eq(system(cmd), 0);
    uint8_t seed[32] = {0x52, 0x2e};
    tcrypto_keypair_from_seed(seed, &second_researcher);
    cr_assert_eq(world_init_edit(&w, "http-test-2", add_researcher, NULL), 0);
    cr_assert_eq(world_open(&w, dir, true), 0);
    capi_config cc = {.executor = w.e, .submit = test_submit, .clock = world_clock, .skew_ms = 30000,
                      .blocks_max = 8};
    api = capi_open(&cc);
    cr_assert_not_null(api);
    cr_assert_eq(scenario_run(&w, NULL), 0);
    start(0, 0);
    json_t *doc = signed_get_json("/v1/trials/" SCENARIO_TRIAL "/grants/1/records", &second_researcher, 403);
    cr_expect(strstr(json_string_value(json_object_get(doc, "reason")), "another researcher") != NULL);
    json_decref(doc);
    json_decref(signed_get_json("/v1/trials/" SCENARIO_TRIAL "/grants/1/records", &w.researcher, 200));
    doc = signed_get_json("/v1/trials/" SCENARIO_TRIAL "/read-log", &w.regulator, 200);
    cr_expect_eq(json_integer_value(json_object_get(doc, "total")), 1, "only the answered read is logged");
    json_decref(doc);
}

/* ---- the event stream ------------------------------------------------------------------ */

/* Open a signed GET of target and read what arrives until `until` is in it or ms pass. The
 * connection stays open (returned) for more reads. */
static int stream_open(const char *target, const keypair *key, const char *extra)
{
    char path[512], input[600], sig[200], head[2048];
    snprintf(path, sizeof path, "%s", target);
    char *q = strchr(path, '?');
    if (q) *q++ = '\0';
    httpsig_request rq = {"GET", path, q, "localhost", no_headers, NULL};
    cr_assert(httpsig_sign(&rq, false, key, &w.chain_id, world_s(), input, sizeof input, sig, sizeof sig));
    int fd = dial();
    int n = snprintf(head, sizeof head, "GET %s HTTP/1.1\r\nHost: localhost\r\nSignature-Input: %s\r\n"
                     "Signature: %s\r\n%s\r\n", target, input, sig, extra ? extra : "");
    cr_assert_eq(write(fd, head, (size_t)n), n);
    return fd;
}

static size_t stream_read_until(int fd, char *buf, size_t cap, size_t have, const char *until, int ms)
{
    for (int waited = 0; waited < ms && !(buf[have] = '\0', strstr(buf, until)); waited += 50) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 50) == 1) {
            ssize_t k = read(fd, buf + have, cap - 1 - have);
            if (k <= 0) break;
            have += (size_t)k;
        }
    }
    buf[have] = '\0';
    return have;
}

Test(http, the_event_stream_sends_certified_events_by_role_resumes_and_follows_new_blocks)
{
    cr_assert_eq(scenario_run(&w, NULL), 0);
    start(0, 0);
    static char buf[1 << 20];
    /* the regulator sees every event, the first being the registration, id 1.0.0 */
    int fd = stream_open("/v1/events?from=1", &w.regulator, NULL);
    size_t n = stream_read_until(fd, buf, sizeof buf, 0, "outcome.reported", 5000);
    cr_expect(strstr(buf, "HTTP/1.1 200") && strstr(buf, "Content-Type: text/event-stream"), "%.300s", buf);
    cr_expect(strstr(buf, "id: 1.0.0\nevent: protocol.registered\ndata: {") != NULL, "%.600s", buf);
    cr_expect(strstr(buf, "event: consent.granted") != NULL);
    cr_expect(strstr(buf, "event: outcome.reported") != NULL, "every event up to the last block");
    /* a new block reaches the open stream once committed (and certified) */
    codec_receipt r;
    cr_assert_eq(world_run(&w, 60000, &w.participants[0], "consent", "withdraw",
                           ((codec_value[]){world_text(SCENARIO_TRIAL), world_int(1)}), 2, NULL, 0, &r), 0);
    n = stream_read_until(fd, buf, sizeof buf, n, "event: consent.withdrawn", 5000);
    char *last = strstr(buf, "event: consent.withdrawn");
    cr_expect(last != NULL, "the new block's event arrives on the open stream");
    close(fd);
    /* a participant sees its own records and the protocol-level ones, never another's */
    char other[65];
    tcrypto_to_hex(w.participants[1].public_key.bytes, 32, other);
    fd = stream_open("/v1/events", &w.participants[0], NULL);
    n = stream_read_until(fd, buf, sizeof buf, 0, "consent.withdrawn", 5000);
    cr_expect(strstr(buf, "event: protocol.registered") != NULL);
    cr_expect(strstr(buf, "event: consent.withdrawn") != NULL, "its own withdrawal");
    cr_expect(strstr(buf, other) == NULL, "another participant's key is in participant 0's stream");
    close(fd);
    /* Last-Event-ID resumes after that event */
    fd = stream_open("/v1/events", &w.regulator, "Last-Event-ID: 1.0.0\r\n");
    n = stream_read_until(fd, buf, sizeof buf, 0, "id: ", 3000);
    (void)n;
    cr_expect(strstr(buf, "id: 1.0.0\n") == NULL, "the event named by Last-Event-ID is not sent again");
    close(fd);
    cr_expect_eq(get("/v1/events")->status, 401, "unsigned");
}

/* Review R2: Last-Event-ID and ?from= are decimal digits in range, else 400 (sscanf and
 * strtoull used to take "-1.0.0", "+5.0.0", "1.4294967296.0" and from=2^64 as some height). */
Test(http, an_event_stream_start_point_out_of_form_or_range_is_refused)
{
    cr_assert_eq(scenario_run(&w, NULL), 0);
    start(0, 0);
    static const char *ids[] = {"-1.0.0", "5 .0.0", "+5.0.0", "1.4294967296.0", "1.0.4294967296",
                                "18446744073709551616.0.0", "1.0", "1.0.0.0", "0.0.0", "1..0"};
    static const char *froms[] = {"18446744073709551616", "-1", "+1", "%201", "0", "1x"};
    char buf[4096], target[96], extra[96];
    for (size_t i = 0; i < sizeof ids / sizeof *ids; i++) {
        snprintf(target, sizeof target, "/v1/events?from=%zu", i + 1); /* a fresh signature each */
        snprintf(extra, sizeof extra, "Last-Event-ID: %s\r\n", ids[i]);
        int fd = stream_open(target, &w.regulator, extra);
        stream_read_until(fd, buf, sizeof buf, 0, "\r\n\r\n", 3000);
        close(fd);
        cr_expect(strncmp(buf, "HTTP/1.1 400", 12) == 0, "Last-Event-ID \"%s\": %.60s", ids[i], buf);
    }
    for (size_t i = 0; i < sizeof froms / sizeof *froms; i++) {
        snprintf(target, sizeof target, "/v1/events?from=%s", froms[i]);
        int fd = stream_open(target, &w.regulator, NULL);
        stream_read_until(fd, buf, sizeof buf, 0, "\r\n\r\n", 3000);
        close(fd);
        cr_expect(strncmp(buf, "HTTP/1.1 400", 12) == 0, "from=%s: %.60s", froms[i], buf);
    }
    /* in range: a stream */
    int fd = stream_open("/v1/events?from=99", &w.regulator, "Last-Event-ID: 18446744073709551615.4294967295.4294967295\r\n");
    stream_read_until(fd, buf, sizeof buf, 0, "\r\n\r\n", 3000);
    close(fd);
    cr_expect(strncmp(buf, "HTTP/1.1 200", 12) == 0, "%.60s", buf);
}

/* Review R2: a block whose visible events are more than one stream buffer (1 MiB) is sent
 * in parts, each ending at an event, and the stream goes on to the next block. (It used to
 * end the stream with an error; a client resuming from its Last-Event-ID then met the same
 * block again, so it never got past it.) */
static bool dechunk(uint8_t *data, size_t len, size_t *out_len);

Test(http, a_block_with_more_events_than_the_stream_buffer_is_sent_in_parts)
{
    cr_assert_eq(scenario_run(&w, NULL), 0);
    enum { N = 3000 };
    uint8_t *bufs = malloc((size_t)N * 512);
    codec_span *spans = malloc(N * sizeof *spans);
    codec_receipt *rs = malloc(N * sizeof *rs);
    cr_assert(bufs && spans && rs);
    uint64_t at = w.now_ms + 60000 - 1;
    for (int i = 0; i < N; i++) {
        char label[48];
        snprintf(label, sizeof label, "r2 big block %d", i);
        hash32 h = world_hash(label);
        codec_value a[] = {world_text(SCENARIO_TRIAL), world_bytes(w.participants[0].public_key.bytes, 32),
                           world_int(SCOPE_MAIN), world_int((int64_t)at), world_bytes(h.bytes, 32),
                           world_int(5000 + i)};
        spans[i].len = world_sign(&w, &w.inv_a, WORLD_NEXT_NONCE, NULL, "data", "anchor", a, 6, NULL, 0,
                                  bufs + (size_t)i * 512, 512);
        spans[i].data = bufs + (size_t)i * 512;
    }
    cr_assert_eq(world_commit(&w, 60000, spans, N, rs), 0);
    for (int i = 0; i < N; i++) cr_assert_eq(rs[i].status, RECEIPT_OK, "%s", rs[i].reason);
    ledger_summary head;
    ledger_head(w.l, &head);
    uint64_t h = head.height; /* the big block; the withdrawal below is h + 1 */
    codec_receipt r;
    cr_assert_eq(world_run(&w, 60000, &w.participants[0], "consent", "withdraw",
                           ((codec_value[]){world_text(SCENARIO_TRIAL), world_int(1)}), 2, NULL, 0, &r), 0);
    start(0, 0);
    size_t cap = 32u << 20; /* 3,000 events of about 2.8 KB each, and the blocks before */
    char *buf = malloc(cap);
    cr_assert_not_null(buf);
    int fd = stream_open("/v1/events?from=1", &w.regulator, NULL);
    char end[64];
    snprintf(end, sizeof end, "id: %llu.0.0\n", (unsigned long long)h + 1);
    size_t got = stream_read_until(fd, buf, cap, 0, end, 20000);
    close(fd);
    /* the body is chunked (a chunk per read of the stream's buffer): a chunk's size line
     * may fall inside an event's id, so count the events in the de-chunked body */
    char *body = strstr(buf, "\r\n\r\n");
    cr_assert_not_null(body);
    body += 4;
    size_t body_len;
    dechunk((uint8_t *)body, got - (size_t)(body - buf), &body_len);
    body[body_len] = '\0';
    char want[64];
    size_t sent = 0;
    snprintf(want, sizeof want, "id: %llu.", (unsigned long long)h);
    for (const char *p = body; (p = strstr(p, want)); p++) sent++;
    cr_expect_eq(sent, (size_t)N, "every event of the big block, once each: %zu of %d", sent, N);
    snprintf(want, sizeof want, "id: %llu.0.0\nevent: consent.withdrawn", (unsigned long long)h + 1);
    cr_expect(strstr(body, want) != NULL, "the stream goes on past the big block: %s", want);
    snprintf(want, sizeof want, "id: %llu.%d.0\nevent: data.anchored", (unsigned long long)h, N - 1);
    cr_expect(strstr(body, want) != NULL, "the big block's last event: %s", want);
    free(buf);
    free(bufs);
    free(spans);
    free(rs);
}

/* ---- the export (GET /v1/export) --------------------------------------------------------- */

/* A whole response: status, head, and the body with its chunked transfer coding undone
 * (complete: the last chunk arrived; a stream that ends in error has none). */
typedef struct {
    int status;
    char head[4096];
    uint8_t *body;
    size_t len;
    bool complete;
} whole_response;

/* Undo Transfer-Encoding: chunked in place; false if the terminating chunk is missing
 * (*out_len then counts the whole chunks before it). */
static bool dechunk(uint8_t *data, size_t len, size_t *out_len)
{
    size_t in = 0, out = 0;
    for (;;) {
        char *end;
        *out_len = out;
        if (in >= len) return false;
        unsigned long n = strtoul((const char *)data + in, &end, 16);
        size_t line = (size_t)((uint8_t *)end - data);
        if (line + 2 > len || memcmp(data + line, "\r\n", 2) != 0) return false;
        in = line + 2;
        if (n == 0) {
            *out_len = out;
            return in + 2 <= len && memcmp(data + in, "\r\n", 2) == 0;
        }
        if (in + n + 2 > len) return false;
        memmove(data + out, data + in, n);
        out += n;
        in += n + 2;
    }
}

/* GET target (signed by key, or unsigned if NULL) over HTTP/1.1 and read it all. */
static void whole_get(const char *target, const keypair *key, const hash32 *chain,
                      int64_t created_s, whole_response *r)
{
    char path[512], input[600], sig[200], head[2048], lines[900] = "";
    snprintf(path, sizeof path, "%s", target);
    char *q = strchr(path, '?');
    if (q) *q++ = '\0';
    if (key) {
        httpsig_request rq = {"GET", path, q, "localhost", no_headers, NULL};
        cr_assert(httpsig_sign(&rq, false, key, chain, created_s, input, sizeof input, sig,
                               sizeof sig));
        snprintf(lines, sizeof lines, "Signature-Input: %s\r\nSignature: %s\r\n", input, sig);
    }
    int fd = dial();
    int n = snprintf(head, sizeof head, "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                     "%s\r\n", target, lines);
    cr_assert_eq(write(fd, head, (size_t)n), n);
    size_t cap = 1 << 16, got = 0;
    uint8_t *buf = malloc(cap);
    for (ssize_t k; buf && (k = read(fd, buf + got, cap - got)) > 0;) {
        got += (size_t)k;
        if (got == cap) buf = realloc(buf, cap *= 2);
    }
    close(fd);
    cr_assert_not_null(buf);
    uint8_t *sep = memmem(buf, got, "\r\n\r\n", 4);
    cr_assert_not_null(sep, "no end of the head");
    size_t head_len = (size_t)(sep - buf);
    snprintf(r->head, sizeof r->head, "%.*s", (int)head_len, (const char *)buf);
    cr_assert_eq(sscanf(r->head, "HTTP/1.1 %d", &r->status), 1, "%s", r->head);
    r->len = got - head_len - 4;
    memmove(buf, sep + 4, r->len);
    r->body = buf;
    r->complete = true;
    if (strstr(r->head, "Transfer-Encoding: chunked")) r->complete = dechunk(buf, r->len, &r->len);
}

/* The export file the store itself writes for heights 1..last (audit_export_heights:
 * `trialctl export --data`'s bytes). */
static uint8_t *store_export(ledger *l, uint64_t last, size_t *len)
{
    char *data = NULL, why[200];
    FILE *f = open_memstream(&data, len);
    cr_assert_eq(audit_export_heights(l, f, last, why, sizeof why), 0, "%s", why);
    fclose(f);
    return (uint8_t *)data;
}

static uint64_t header_u64(const whole_response *r, const char *name)
{
    const char *at = strstr(r->head, name);
    cr_assert_not_null(at, "no %s in %s", name, r->head);
    return strtoull(at + strlen(name) + 2, NULL, 10);
}

/* The scenario's ledger, larger than one BLOCKS page of this node (blocks_max 8), streamed
 * page by page: the same bytes as the store's own export; refused to a participant's key
 * (403) and to no signature (401). */
Test(http, the_export_streams_the_certified_ledger_byte_for_byte_to_its_readers_only)
{
    cr_assert_eq(scenario_run(&w, NULL), 0);
    start(0, 0);
    ledger_summary head;
    ledger_head(w.l, &head);
    cr_assert_gt(head.height, 8 * 2, "the chain spans several BLOCKS pages");
    whole_response r;
    whole_get("/v1/export", &w.regulator, &w.chain_id, world_s(), &r);
    cr_assert_eq(r.status, 200, "%s %.300s", r.head, r.body);
    cr_expect(r.complete, "the stream ended with its last chunk");
    cr_expect(strstr(r.head, "Content-Type: application/octet-stream") != NULL, "%s", r.head);
    cr_expect(strstr(r.head, "Content-Disposition: attachment; filename=\"trialreg-") != NULL, "%s", r.head);
    cr_expect_eq(header_u64(&r, "Trialreg-Block-Count"), head.height);
    cr_expect_eq(header_u64(&r, "Trialreg-Left-Out"), 0);
    size_t want_len;
    uint8_t *want = store_export(w.l, head.height, &want_len);
    cr_expect_eq(r.len, want_len, "%zu bytes streamed, the store's export has %zu", r.len, want_len);
    cr_expect(r.len == want_len && memcmp(r.body, want, want_len) == 0, "the bytes differ");
    free(want);
    free(r.body);
    whole_get("/v1/export", &w.participants[0], &w.chain_id, world_s(), &r);
    cr_expect_eq(r.status, 403, "a participant may not export: %s", r.head);
    cr_expect(strstr((char *)r.body, "\"error\":\"DENIED\"") != NULL, "%.*s", (int)r.len, r.body);
    free(r.body);
    whole_get("/v1/export", &w.sponsor, &w.chain_id, world_s(), &r);
    cr_expect_eq(r.status, 403, "a sponsor may not export: %s", r.head);
    free(r.body);
    whole_get("/v1/export", NULL, NULL, 0, &r);
    cr_expect_eq(r.status, 401, "unsigned: %s", r.head);
    free(r.body);
    whole_get("/v1/export?include_uncertified=yes", &w.regulator, &w.chain_id, world_s(), &r);
    cr_expect_eq(r.status, 400, "%s", r.head);
    free(r.body);
}

/* ---- the export of a ledger with an uncertified tail -------------------------------------- */

static tu_chain tail_chain;
static ledger *tail_ledger;
static exec *tail_exec;
static uint64_t tail_now_ms;

static uint64_t tail_clock(void *ctx)
{
    (void)ctx;
    return tail_now_ms;
}

/* 30 sample blocks, the last 20 without a result certificate; the node answers BLOCKS 8 at
 * a time (so the search for the last certified height, reading 1, 2, 4, 8 and then 16
 * blocks back from the head, gets a short answer and goes on 8 at a time). */
static void tail_setup(void)
{
    tu_tempdir(dir, "http-export");
    tu_chain_make(&tail_chain, 41);
    tail_ledger = tu_open(dir, &tail_chain);
    char why[300];
    cr_assert_eq(sample_write_blocks_tail(tail_ledger, &tail_chain.keys, 30, 4, 20, why, sizeof why),
                 0, "%s", why);
    exec_options opt = {.verify_signatures = true};
    exec_error err;
    cr_assert_eq(exec_open(tail_ledger, &opt, &tail_exec, &err), EXEC_OK, "%s", err.message);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    tail_now_ms = (uint64_t)ts.tv_sec * 1000;
    capi_config cc = {.executor = tail_exec, .submit = test_submit, .clock = tail_clock,
                      .skew_ms = 30000, .blocks_max = 8};
    api = capi_open(&cc);
    cr_assert_not_null(api);
    http_config cfg = {.address = "127.0.0.1:0", .handler = capi_handle_as, .handler_ctx = api,
                       .chain_id = *ledger_chain_id(tail_ledger), .clock = tail_clock};
    server = http_open(&cfg, why, sizeof why);
    cr_assert_not_null(server, "%s", why);
}

static void tail_teardown(void)
{
    http_close(server);
    server = NULL;
    capi_close(api);
    exec_close(tail_exec);
    ledger_close(tail_ledger);
    free(tail_chain.genesis);
    tu_rmdir(dir);
}

TestSuite(http_export, .init = tail_setup, .fini = tail_teardown, .timeout = 60);

Test(http_export, the_uncertified_tail_is_left_out_and_counted_unless_asked_for)
{
    const hash32 *chain = ledger_chain_id(tail_ledger);
    whole_response r;
    whole_get("/v1/export", &tail_chain.keys.regulator, chain, (int64_t)(tail_now_ms / 1000), &r);
    cr_assert_eq(r.status, 200, "%s %.300s", r.head, r.body);
    cr_expect(r.complete);
    cr_expect_eq(header_u64(&r, "Trialreg-Block-Count"), 10);
    cr_expect_eq(header_u64(&r, "Trialreg-Certified-Height"), 10);
    cr_expect_eq(header_u64(&r, "Trialreg-Head-Height"), 30);
    cr_expect_eq(header_u64(&r, "Trialreg-Left-Out"), 20);
    cr_expect_eq(audit_certified_height(tail_ledger), 10);
    size_t want_len;
    uint8_t *want = store_export(tail_ledger, 10, &want_len);
    cr_expect(r.len == want_len && memcmp(r.body, want, want_len) == 0,
              "%zu bytes streamed, the store's export of 1..10 has %zu", r.len, want_len);
    free(want);
    free(r.body);
    /* a validator's key reads it too; ?include_uncertified=true has every block */
    whole_get("/v1/export?include_uncertified=true", &tail_chain.keys.validators[2], chain, (int64_t)(tail_now_ms / 1000), &r);
    cr_assert_eq(r.status, 200, "%s %.300s", r.head, r.body);
    cr_expect_eq(header_u64(&r, "Trialreg-Block-Count"), 30);
    cr_expect_eq(header_u64(&r, "Trialreg-Left-Out"), 0);
    want = store_export(tail_ledger, 30, &want_len);
    cr_expect(r.len == want_len && memcmp(r.body, want, want_len) == 0,
              "%zu bytes streamed, the store's export of 1..30 has %zu", r.len, want_len);
    free(want);
    free(r.body);
    /* a key of no role at all (as a participant's) */
    keypair stranger;
    tcrypto_keypair_generate(&stranger);
    whole_get("/v1/export", &stranger, chain, (int64_t)(tail_now_ms / 1000), &r);
    cr_expect_eq(r.status, 403, "%s", r.head);
    free(r.body);
}

/* ---- the export's memory ------------------------------------------------------------------ */

#if defined(__SANITIZE_ADDRESS__)
size_t __sanitizer_get_current_allocated_bytes(void);
static size_t live_heap_bytes(void) { return __sanitizer_get_current_allocated_bytes(); }
#else
#include <malloc.h>
/* The bytes malloc has handed out and not had back, over every arena and mmapped chunk. */
static size_t live_heap_bytes(void)
{
    struct mallinfo2 m = mallinfo2();
    return m.uordblks + m.hblkhd;
}
#endif

#define BIG_BLOCKS 96
#define BIG_TXS 400
#define HUGE_TXS 3600 /* the last block's: more than 1 MiB, the stream's first reply buffer */

/* A ledger of BIG_BLOCKS blocks of BIG_TXS txs and one of HUGE_TXS (over 10 MB exported),
 * BLOCKS 8 at a time. */
static void big_setup(void)
{
    tu_tempdir(dir, "http-export-big");
    tu_chain_make(&tail_chain, 43);
    tail_ledger = tu_open(dir, &tail_chain);
    char why[300];
    cr_assert_eq(sample_write_blocks(tail_ledger, &tail_chain.keys, BIG_BLOCKS, BIG_TXS, why,
                                     sizeof why), 0, "%s", why);
    cr_assert_eq(sample_write_blocks(tail_ledger, &tail_chain.keys, 1, HUGE_TXS, why, sizeof why),
                 0, "%s", why);
    uint8_t *block;
    size_t len;
    cr_assert_eq(ledger_get_block(tail_ledger, BIG_BLOCKS + 1, &block, &len), LEDGER_OK);
    cr_assert_gt(len, 1u << 20, "the last block is larger than the stream's first reply buffer");
    free(block);
    exec_options opt = {.verify_signatures = true};
    exec_error err;
    cr_assert_eq(exec_open(tail_ledger, &opt, &tail_exec, &err), EXEC_OK, "%s", err.message);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    tail_now_ms = (uint64_t)ts.tv_sec * 1000;
    capi_config cc = {.executor = tail_exec, .submit = test_submit, .clock = tail_clock,
                      .skew_ms = 30000, .blocks_max = 8};
    api = capi_open(&cc);
    cr_assert_not_null(api);
    http_config cfg = {.address = "127.0.0.1:0", .handler = capi_handle_as, .handler_ctx = api,
                       .chain_id = *ledger_chain_id(tail_ledger), .clock = tail_clock};
    server = http_open(&cfg, why, sizeof why);
    cr_assert_not_null(server, "%s", why);
}

TestSuite(http_export_memory, .init = big_setup, .fini = tail_teardown, .timeout = 120);

/* The stream holds a page, not the chain: the live heap of the whole process (server
 * threads included), sampled after every read of the download, never grows by half the
 * export, which is larger than the client API's largest reply; the bytes read are the
 * store's export, compared as they arrive (never held), the last block's too (its page
 * needs a larger reply buffer than the stream starts with). */
Test(http_export_memory, an_export_far_larger_than_a_page_streams_in_bounded_memory)
{
    char ref_path[300], why[200];
    snprintf(ref_path, sizeof ref_path, "%s.ref", dir);
    FILE *ref = fopen(ref_path, "w+b");
    cr_assert_not_null(ref);
    cr_assert_eq(audit_export_heights(tail_ledger, ref, BIG_BLOCKS + 1, why, sizeof why), 0, "%s",
                 why);
    long export_bytes = ftell(ref);
    rewind(ref);
    size_t base = live_heap_bytes(), peak = base;
    /* HTTP/1.0: the body comes unchunked and ends when the server closes */
    char path[] = "/v1/export", input[600], sig[200], head[2048];
    httpsig_request rq = {"GET", path, NULL, "localhost", no_headers, NULL};
    cr_assert(httpsig_sign(&rq, false, &tail_chain.keys.regulator, ledger_chain_id(tail_ledger),
                           (int64_t)(tail_now_ms / 1000), input, sizeof input, sig, sizeof sig));
    int fd = dial();
    int n = snprintf(head, sizeof head, "GET %s HTTP/1.0\r\nHost: localhost\r\nSignature-Input: %s\r\n"
                     "Signature: %s\r\n\r\n", path, input, sig);
    cr_assert_eq(write(fd, head, (size_t)n), n);
    static uint8_t buf[1 << 16], want[1 << 16];
    size_t have = 0, body = 0;
    bool in_body = false, same = true;
    for (ssize_t k; (k = read(fd, buf + have, sizeof buf - have)) > 0;) {
        size_t now = live_heap_bytes();
        if (now > peak) peak = now;
        have += (size_t)k;
        size_t from = 0;
        if (!in_body) {
            uint8_t *sep = memmem(buf, have, "\r\n\r\n", 4);
            cr_assert(sep || have < sizeof buf, "no end of the head");
            if (!sep) continue;
            cr_assert(memcmp(buf, "HTTP/1.1 200", 12) == 0, "%.200s", (char *)buf);
            from = (size_t)(sep - buf) + 4;
            in_body = true;
        }
        size_t len = have - from;
        same = same && fread(want, 1, len, ref) == len && memcmp(buf + from, want, len) == 0;
        body += len;
        have = 0;
    }
    close(fd);
    fclose(ref);
    unlink(ref_path);
    cr_expect_eq(body, (size_t)export_bytes, "%zu bytes streamed, the store's export has %ld", body,
                 export_bytes);
    cr_expect(same, "the streamed bytes differ from the store's export");
    cr_log_info("export %ld bytes; live heap %zu before, %zu at most while streaming", export_bytes,
                base, peak);
    cr_expect_gt(export_bytes, CODEC_CLIENT_MESSAGE_MAX, "the export exceeds the largest reply");
    cr_expect_lt(peak - base, (size_t)export_bytes / 2, "the heap grew by %zu bytes for an export "
                 "of %ld: the stream holds more than a page", peak - base, export_bytes);
}

/* At most 4 exports at once: four readers that do not read hold their streams (the export
 * is larger than what the sockets buffer), a fifth is refused 503 BUSY, and once they hang
 * up an export is served again. */
Test(http_export_memory, a_fifth_export_at_once_is_refused_busy)
{
    const hash32 *chain = ledger_chain_id(tail_ledger);
    int64_t created = (int64_t)(tail_now_ms / 1000);
    int held[4];
    for (int i = 0; i < 4; i++) {
        char input[600], sig[200], head[2048], first[16], query[16];
        snprintf(query, sizeof query, "held=%d", i); /* each signature its own (no replay) */
        httpsig_request rq = {"GET", "/v1/export", query, "localhost", no_headers, NULL};
        cr_assert(httpsig_sign(&rq, false, &tail_chain.keys.regulator, chain, created, input,
                               sizeof input, sig, sizeof sig));
        held[i] = dial();
        int n = snprintf(head, sizeof head, "GET /v1/export?%s HTTP/1.1\r\nHost: localhost\r\n"
                         "Signature-Input: %s\r\nSignature: %s\r\n\r\n", query, input, sig);
        cr_assert_eq(write(held[i], head, (size_t)n), n);
        cr_assert_eq(read(held[i], first, 12), 12, "export %d answers", i);
        cr_assert(memcmp(first, "HTTP/1.1 200", 12) == 0, "export %d: %.12s", i, first);
    }
    whole_response r;
    whole_get("/v1/export", &tail_chain.keys.regulator, chain, created, &r);
    cr_expect_eq(r.status, 503, "%s", r.head);
    cr_expect(strstr((char *)r.body, "\"error\":\"BUSY\"") != NULL, "%.*s", (int)r.len, r.body);
    free(r.body);
    for (int i = 0; i < 4; i++) close(held[i]);
    r.status = 0;
    for (int tries = 0; tries < 50 && r.status != 200; tries++) {
        char target[64];
        snprintf(target, sizeof target, "/v1/export?try=%d", tries);
        if (tries) usleep(100 * 1000);
        whole_get(target, &tail_chain.keys.regulator, chain, created, &r);
        free(r.body);
    }
    cr_expect_eq(r.status, 200, "an export once the others hung up: %s", r.head);
}

/* A block whose result certificate is not stored yet: its events wait (a consortium stores
 * the certificate a moment after the commit, and a receipt is complete only with it); they
 * arrive on the open stream once it is stored. */
Test(http, the_event_stream_holds_a_block_until_its_result_certificate_is_stored)
{
    cr_assert_eq(scenario_run(&w, NULL), 0);
    start(0, 0);
    static char buf[1 << 20];
    int fd = stream_open("/v1/events", &w.regulator, NULL);
    size_t n = stream_read_until(fd, buf, sizeof buf, 0, "outcome.reported", 5000);
    cr_assert(strstr(buf, "event: outcome.reported") != NULL, "every certified block's events first");
    /* participant 0 withdraws: committed, not certified */
    uint8_t tx[CODEC_TX_MAX];
    w.now_ms += 60000;
    size_t len = world_sign(&w, &w.participants[0], WORLD_NEXT_NONCE, NULL, "consent", "withdraw",
                            ((codec_value[]){world_text(SCENARIO_TRIAL), world_int(1)}), 2, NULL,
                            0, tx, sizeof tx);
    cr_assert_gt(len, 0);
    codec_span span = {tx, len};
    ledger_summary block;
    exec_error err;
    cr_assert_eq(exec_commit_local_uncertified(w.e, w.validators, 4, w.now_ms, &span, 1, &block,
                                               &err), EXEC_OK, "%s", err.message);
    char id[40];
    snprintf(id, sizeof id, "id: %" PRIu64 ".0.0\n", block.height);
    /* a second of sweeps (every 250 ms) looks at the new block again and again */
    n = stream_read_until(fd, buf, sizeof buf, n, id, 1000);
    cr_expect(strstr(buf, id) == NULL, "the uncertified block's events were sent: %s",
              strstr(buf, id));
    /* a stream opened now sends every certified block's events, and not this one's */
    int fd2 = stream_open("/v1/events", &w.regulator, NULL);
    static char buf2[1 << 20];
    size_t n2 = stream_read_until(fd2, buf2, sizeof buf2, 0, "outcome.reported", 5000);
    cr_expect(strstr(buf2, "event: outcome.reported") != NULL, "%.300s", buf2);
    n2 = stream_read_until(fd2, buf2, sizeof buf2, n2, id, 600);
    cr_expect(strstr(buf2, id) == NULL, "a new stream sent the uncertified block: %s",
              strstr(buf2, id));
    /* the certificate is stored: both streams send the block's event */
    cr_assert_eq(exec_certify_local(w.e, w.validators, 4, &block, &err), EXEC_OK, "%s", err.message);
    n = stream_read_until(fd, buf, sizeof buf, n, id, 5000);
    char *sent = strstr(buf, id);
    cr_expect(sent && strncmp(sent + strlen(id), "event: consent.withdrawn\n", 25) == 0,
              "the certified block's event did not arrive: %s", sent ? sent : "");
    n2 = stream_read_until(fd2, buf2, sizeof buf2, n2, id, 5000);
    cr_expect(strstr(buf2, id) != NULL, "nor on the second stream");
    close(fd);
    close(fd2);
}

/* http_certified (the node's node_on_certified, in trialnode) resumes the waiting streams at
 * once: with the periodic look turned off (an hour), a new certified block reaches the open
 * stream only through it. */
Test(http, a_stored_certificate_resumes_the_event_streams_at_once)
{
    cr_assert_eq(scenario_run(&w, NULL), 0);
    events_poll_ms = 3600000;
    start(0, 0);
    static char buf[1 << 20];
    int fd = stream_open("/v1/events", &w.regulator, NULL);
    size_t n = stream_read_until(fd, buf, sizeof buf, 0, "outcome.reported", 5000);
    cr_assert(strstr(buf, "event: outcome.reported") != NULL, "every certified block's events first");
    usleep(300000); /* the stream has sent everything and is suspended */
    codec_receipt r;
    cr_assert_eq(world_run(&w, 60000, &w.participants[0], "consent", "withdraw",
                           ((codec_value[]){world_text(SCENARIO_TRIAL), world_int(1)}), 2, NULL, 0, &r), 0);
    ledger_summary head;
    ledger_head(w.l, &head);
    uint64_t height = head.height;
    char id[40];
    snprintf(id, sizeof id, "id: %" PRIu64 ".0.0\n", height);
    n = stream_read_until(fd, buf, sizeof buf, n, id, 1000);
    cr_expect(strstr(buf, id) == NULL, "resumed without http_certified (the poll is an hour)");
    double t0 = now_s();
    http_certified(server, height);
    n = stream_read_until(fd, buf, sizeof buf, n, id, 5000);
    cr_expect(strstr(buf, id) != NULL, "http_certified did not resume the stream");
    cr_expect_lt(now_s() - t0, 1.0, "the event took %.3f s after http_certified", now_s() - t0);
    close(fd);
}

/* ---- the e-consent envelope store (http_envelopes.c) ------------------------------------ */

static const char *digest_header(void *ctx, const char *name)
{
    return strcmp(name, "content-digest") == 0 ? *(const char **)ctx : NULL;
}

/* method target with a JSON body, signed by key (NULL: unsigned) with Content-Digest. */
static void signed_send(const char *method, const char *target, const keypair *key,
                        const char *json, response *r)
{
    size_t len = json ? strlen(json) : 0;
    char input[600] = "", sig[200] = "", digest[128] = "", lines[1200] = "";
    /* the same request twice is a replay: a query of its own makes each one new */
    static unsigned k;
    char query[32], full[200];
    snprintf(query, sizeof query, "n=%u", k++);
    snprintf(full, sizeof full, "%s?%s", target, query);
    if (key) {
        httpsig_content_digest(json ? json : "", len, digest, sizeof digest);
        char d[160];
        snprintf(d, sizeof d, "%s", digest);
        const char *value = d;
        httpsig_request rq = {method, target, query, "localhost", digest_header, (void *)&value};
        cr_assert(httpsig_sign(&rq, len > 0, key, &w.chain_id, world_s(), input,
                               sizeof input, sig, sizeof sig));
        snprintf(lines, sizeof lines, "Signature-Input: %s\r\nSignature: %s\r\n%s%s%s", input, sig,
                 len ? "Content-Digest: " : "", len ? digest : "", len ? "\r\n" : "");
    }
    int fd = dial();
    char head[2048];
    int n = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n%s\r\n",
                     method, full, len, lines);
    cr_assert_eq(write(fd, head, (size_t)n), n);
    if (len) cr_assert_eq(write(fd, json, len), (ssize_t)len);
    size_t got = 0;
    for (ssize_t k; (k = read(fd, r->text + got, sizeof r->text - 1 - got)) > 0;) got += (size_t)k;
    r->text[got] = '\0';
    close(fd);
    cr_assert_eq(sscanf(r->text, "HTTP/1.1 %d", &r->status), 1, "%s", r->text);
    const char *b = strstr(r->text, "\r\n\r\n");
    r->body = b ? b + 4 : "";
}

/* A consent.grant by participant 0 (nonce 77): its body (base64 in b64) and the
 * participant's signature (hex in sig_hex); the whole tx with the witness in *whole. */
typedef struct {
    char b64[2048], sig_hex[129], witness_hex[129];
    uint8_t whole[4096];
    size_t whole_len;
} grant_parts;

static void grant_parts_make(grant_parts *g, const keypair *participant, const char *contract)
{
    static const uint8_t form[32] = {7};
    codec_value args[] = {world_text(SCENARIO_TRIAL), world_int(1), world_bytes(form, 32), world_int(3)};
    uint8_t tx[4096];
    size_t len = world_sign(&w, participant, 77, NULL, contract, "grant", args, 4, NULL, 0, tx, sizeof tx);
    cr_assert_gt(len, 67);
    uint8_t body[4096];
    size_t body_len = len - 67; /* no cosigs (0x90), sig (0xc4 0x40 + 64) */
    memcpy(body, tx, body_len);
    body[0] = 0x96;
    tcrypto_base64_encode(body, body_len, g->b64);
    tcrypto_to_hex(tx + len - 64, 64, g->sig_hex);
    world_cosig cos = {&w.inv_a, MEANING_WITNESS};
    g->whole_len = world_sign(&w, participant, 77, NULL, contract, "grant", args, 4, &cos, 1, g->whole, sizeof g->whole);
    cr_assert_gt(g->whole_len, 0);
    tcrypto_to_hex(g->whole + g->whole_len - 64 - 2 - 64, 64, g->witness_hex);
}

static void envelope_create(const grant_parts *g, const keypair *by, const keypair *participant,
                            const char *extra, response *r)
{
    char pk[65], json[3000];
    tcrypto_to_hex(participant->public_key.bytes, 32, pk);
    snprintf(json, sizeof json, "{\"participant\":\"%s\",\"body\":\"%s\"%s}", pk, g->b64, extra ? extra : "");
    signed_send("POST", "/v1/envelopes", by, json, r);
}

static void envelope_id(const response *r, char id[40])
{
    json_t *doc = json_loads(r->body, 0, NULL);
    cr_assert_not_null(doc, "%s", r->text);
    snprintf(id, 40, "%s", json_string_value(json_object_get(doc, "id")) ? json_string_value(json_object_get(doc, "id")) : "");
    json_decref(doc);
    cr_assert_eq(strlen(id), 32, "%s", r->body);
}

static void put_sig(const char *id, const keypair *by, const char *sig_hex, response *r)
{
    char target[80], json[200];
    snprintf(target, sizeof target, "/v1/envelopes/%s", id);
    snprintf(json, sizeof json, "{\"sig\":\"%s\"}", sig_hex);
    signed_send("PUT", target, by, json, r);
}

static void get_env(const char *id, const keypair *by, response *r)
{
    char target[80];
    snprintf(target, sizeof target, "/v1/envelopes/%s", id);
    signed_send("GET", target, by, NULL, r);
}

Test(http, an_envelope_carries_the_consent_between_two_devices_and_yields_the_whole_tx)
{
    start(0, 0);
    grant_parts g;
    grant_parts_make(&g, &w.participants[0], "consent");
    response r;
    envelope_create(&g, &w.inv_a, &w.participants[0], NULL, &r);
    cr_assert_eq(r.status, 201, "%s", r.text);
    cr_expect(strstr(r.body, "\"participant_sig\":null") != NULL, "%s", r.body);
    char expires[40];
    snprintf(expires, sizeof expires, "\"expires_at\":%" PRIu64, w.now_ms + 15 * 60 * 1000);
    cr_expect(strstr(r.body, expires) != NULL, "15 minutes by default: %s", r.body);
    char id[40];
    envelope_id(&r, id);
    /* the participant's device reads it, signs, and puts its signature */
    get_env(id, &w.participants[0], &r);
    cr_expect_eq(r.status, 200, "%s", r.text);
    cr_expect(strstr(r.body, g.b64) != NULL, "%s", r.body);
    put_sig(id, &w.inv_a, g.witness_hex, &r);
    cr_expect_eq(r.status, 409, "the witness before the participant: %s", r.text);
    put_sig(id, &w.participants[0], g.witness_hex, &r);
    cr_expect_eq(r.status, 400, "another signature is refused: %s", r.text);
    cr_expect(strstr(r.body, "BAD_TX_SIGNATURE") != NULL, "%s", r.body);
    put_sig(id, &w.participants[0], g.sig_hex, &r);
    cr_expect_eq(r.status, 200, "%s", r.text);
    cr_expect(strstr(r.body, g.sig_hex) != NULL, "%s", r.body);
    cr_expect(strstr(r.body, "\"tx\"") == NULL, "no tx before the witness: %s", r.body);
    /* the investigator's page co-signs as witness: the whole tx is the one world_sign makes */
    put_sig(id, &w.inv_a, g.witness_hex, &r);
    cr_expect_eq(r.status, 200, "%s", r.text);
    get_env(id, &w.participants[0], &r);
    cr_assert_eq(r.status, 200, "%s", r.text);
    json_t *doc = json_loads(r.body, 0, NULL);
    const char *tx = json_string_value(json_object_get(doc, "tx"));
    cr_assert_not_null(tx, "%s", r.body);
    uint8_t bytes[4096];
    size_t n;
    cr_assert(tcrypto_base64_decode(tx, strlen(tx), bytes, sizeof bytes, &n));
    cr_expect_eq(n, g.whole_len);
    cr_expect_eq(memcmp(bytes, g.whole, n), 0, "the envelope's tx is not the canonical co-signed tx");
    hash32 txid;
    char hex[65];
    tcrypto_sha256(g.whole, g.whole_len, &txid);
    tcrypto_to_hex(txid.bytes, 32, hex);
    cr_expect_str_eq(json_string_value(json_object_get(doc, "tx_id")), hex);
    json_decref(doc);
    /* a signature once given is not replaced */
    put_sig(id, &w.participants[0], g.witness_hex, &r);
    cr_expect_eq(r.status, 409, "%s", r.text);
}

Test(http, an_envelope_is_refused_to_a_third_key_unsigned_requests_and_bad_bodies)
{
    start(0, 0);
    grant_parts g;
    grant_parts_make(&g, &w.participants[0], "consent");
    response r;
    envelope_create(&g, NULL, &w.participants[0], NULL, &r);
    cr_expect_eq(r.status, 401, "unsigned create: %s", r.text);
    envelope_create(&g, &w.inv_a, &w.participants[0], NULL, &r);
    cr_assert_eq(r.status, 201, "%s", r.text);
    char id[40];
    envelope_id(&r, id);
    get_env(id, NULL, &r);
    cr_expect_eq(r.status, 401, "unsigned read: %s", r.text);
    get_env(id, &w.regulator, &r);
    cr_expect_eq(r.status, 403, "a third key reads: %s", r.text);
    cr_expect(strstr(r.body, g.b64) == NULL);
    put_sig(id, &w.participants[1], g.sig_hex, &r);
    cr_expect_eq(r.status, 403, "a third key writes: %s", r.text);
    put_sig(id, NULL, g.sig_hex, &r);
    cr_expect_eq(r.status, 401, "unsigned write: %s", r.text);
    get_env("00112233445566778899aabbccddeeff", &w.inv_a, &r);
    cr_expect_eq(r.status, 404, "%s", r.text);
    /* what an envelope may hold: a consent.grant body whose signer is the participant */
    envelope_create(&g, &w.inv_a, &w.participants[1], NULL, &r);
    cr_expect_eq(r.status, 400, "the body's signer is another key: %s", r.text);
    cr_expect(strstr(r.body, "signer is not the envelope's participant") != NULL, "%s", r.body);
    grant_parts other;
    grant_parts_make(&other, &w.participants[0], "data");
    envelope_create(&other, &w.inv_a, &w.participants[0], NULL, &r);
    cr_expect_eq(r.status, 400, "not a consent: %s", r.text);
    cr_expect(strstr(r.body, "consent.grant body only") != NULL, "%s", r.body);
    signed_send("POST", "/v1/envelopes", &w.inv_a, "{\"participant\":\"00\",\"body\":\"AA==\"}", &r);
    cr_expect_eq(r.status, 400, "%s", r.text);
    envelope_create(&g, &w.inv_a, &w.participants[0], ",\"ttl_s\":3601", &r);
    cr_expect_eq(r.status, 400, "a ttl beyond the bound: %s", r.text);
    signed_send("DELETE", "/v1/envelopes", &w.inv_a, NULL, &r);
    cr_expect_eq(r.status, 405, "%s", r.text);
}

Test(http, an_envelope_expires_and_its_contents_go)
{
    envelope_limits.envelope_ttl_max_ms = 60 * 1000;
    start(0, 0);
    grant_parts g;
    grant_parts_make(&g, &w.participants[0], "consent");
    response r;
    envelope_create(&g, &w.inv_a, &w.participants[0], ",\"ttl_s\":30", &r);
    cr_assert_eq(r.status, 201, "%s", r.text);
    char id[40];
    envelope_id(&r, id);
    w.now_ms += 29 * 1000;
    get_env(id, &w.participants[0], &r);
    cr_expect_eq(r.status, 200, "before its ttl: %s", r.text);
    w.now_ms += 1000;
    get_env(id, &w.participants[0], &r);
    cr_expect_eq(r.status, 410, "at its ttl: %s", r.text);
    put_sig(id, &w.participants[0], g.sig_hex, &r);
    cr_expect_eq(r.status, 410, "%s", r.text);
    w.now_ms += 60 * 1000;
    get_env(id, &w.inv_a, &r);
    cr_expect_eq(r.status, 404, "forgotten a ttl_max later: %s", r.text);
}

Test(http, the_envelope_store_is_bounded_in_count_and_bytes)
{
    envelope_limits.envelopes_max = 2;
    envelope_limits.envelope_ttl_max_ms = 60 * 1000;
    start(0, 0);
    grant_parts g;
    grant_parts_make(&g, &w.participants[0], "consent");
    response r;
    envelope_create(&g, &w.inv_a, &w.participants[0], NULL, &r);
    cr_expect_eq(r.status, 201, "%s", r.text);
    envelope_create(&g, &w.inv_a, &w.participants[0], NULL, &r);
    cr_expect_eq(r.status, 201, "%s", r.text);
    envelope_create(&g, &w.inv_a, &w.participants[0], NULL, &r);
    cr_expect_eq(r.status, 503, "a third envelope in a store of 2: %s", r.text);
    cr_expect(strstr(r.body, "STORE_FULL") != NULL, "%s", r.body);
    w.now_ms += 61 * 1000; /* expired: their room is free again */
    envelope_create(&g, &w.inv_a, &w.participants[0], NULL, &r);
    cr_expect_eq(r.status, 201, "an expired envelope's room is free again: %s", r.text);
    http_close(server);
    /* bytes: room for one envelope of this size only */
    memset(&envelope_limits, 0, sizeof envelope_limits);
    envelope_limits.envelope_bytes_max = 256 + 400;
    start(0, 0);
    envelope_create(&g, &w.inv_a, &w.participants[0], NULL, &r);
    cr_expect_eq(r.status, 201, "%s", r.text);
    envelope_create(&g, &w.inv_a, &w.participants[0], NULL, &r);
    cr_expect_eq(r.status, 503, "beyond the bytes: %s", r.text);
    /* one body larger than a tx */
    static char big[80000];
    memset(big, 'A', sizeof big - 1);
    char *json = malloc(sizeof big + 200);
    char pk[65];
    tcrypto_to_hex(w.participants[0].public_key.bytes, 32, pk);
    snprintf(json, sizeof big + 200, "{\"participant\":\"%s\",\"body\":\"%s\"}", pk, big);
    signed_send("POST", "/v1/envelopes", &w.inv_a, json, &r);
    free(json);
    cr_expect_eq(r.status, 413, "%s", r.text);
}

/* Issue 22: the FHIR reads under /fhir/, by role (the EVENTS filter), as application/fhir+json,
 * errors as OperationOutcome. (The whole-trial $export and FHIR.js's verdict on every answer:
 * tests/fhir/cluster_fhir.sh.) */
static int count_of(const char *body, const char *needle)
{
    int n = 0;
    for (const char *p = body; (p = strstr(p, needle)); p++) n++;
    return n;
}

Test(http, fhir_reads_answer_by_role_as_fhir_json)
{
    cr_assert_eq(scenario_run(&w, NULL), 0);
    start(0, 0);
    response r, *m = get("/fhir/metadata");
    cr_expect(m->status == 200 && strstr(m->text, "Content-Type: application/fhir+json")
              && strstr(m->body, "\"resourceType\":\"CapabilityStatement\"")
              && strstr(m->body, "\"fhirVersion\":\"4.0.1\""), "%s", m->text);
    char lines[900], target[256], pk0[65];
    signed_get("/fhir/ResearchStudy/" SCENARIO_TRIAL, &w.sponsor, world_s(), &w.chain_id, NULL, &r, lines);
    cr_expect(r.status == 200 && strstr(r.body, "\"resourceType\":\"ResearchStudy\"")
              && strstr(r.body, "\"id\":\"" SCENARIO_TRIAL "\"") && strstr(r.body, "\"status\":\"active\""),
              "%s", r.text);
    /* a researcher reads no tx of the trial: no ResearchStudy for it */
    signed_get("/fhir/ResearchStudy/" SCENARIO_TRIAL, &w.researcher, world_s(), &w.chain_id, NULL, &r, lines);
    cr_expect(r.status == 404 && strstr(r.body, "\"resourceType\":\"OperationOutcome\"")
              && strstr(r.body, "\"code\":\"not-found\""), "%s", r.text);
    signed_get("/fhir/ResearchSubject?study=ResearchStudy/" SCENARIO_TRIAL, &w.sponsor, world_s(),
               &w.chain_id, NULL, &r, lines);
    cr_expect(r.status == 200 && strstr(r.body, "\"type\":\"searchset\"") && strstr(r.body, "\"total\":6"),
              "the sponsor sees the six participants: %s", r.text);
    signed_get("/fhir/ResearchSubject?study=" SCENARIO_TRIAL, &w.participants[0], world_s(),
               &w.chain_id, NULL, &r, lines);
    cr_expect(r.status == 200 && strstr(r.body, "\"total\":1"), "a participant sees itself: %s", r.text);
    tcrypto_to_hex(w.participants[0].public_key.bytes, 32, pk0);
    snprintf(target, sizeof target, "/fhir/Consent?patient=Patient/%s", pk0);
    signed_get(target, &w.participants[0], world_s(), &w.chain_id, NULL, &r, lines);
    cr_expect(r.status == 200 && count_of(r.body, "\"resourceType\":\"Consent\"") >= 1
              && strstr(r.body, pk0), "its own consents: %s", r.text);
    signed_get(target, &w.participants[1], world_s(), &w.chain_id, NULL, &r, lines);
    cr_expect(r.status == 200 && strstr(r.body, "\"total\":0")
              && count_of(r.body, "\"resourceType\":\"Consent\"") == 0, "not another's: %s", r.text);
    /* unsigned, a missing parameter, an unknown type, a write */
    cr_expect(get("/fhir/ResearchStudy/" SCENARIO_TRIAL)->status == 401
              && strstr(get("/fhir/ResearchStudy/" SCENARIO_TRIAL)->body, "\"code\":\"login\""));
    signed_get("/fhir/Consent", &w.sponsor, world_s(), &w.chain_id, NULL, &r, lines);
    cr_expect(r.status == 400 && strstr(r.body, "OperationOutcome"), "%s", r.text);
    cr_expect_eq(get("/fhir/Observation")->status, 404);
    response post;
    exchange("POST", "/fhir/metadata", "application/fhir+json", "{}", 2, &post);
    cr_expect(post.status == 405 && strstr(post.body, "\"code\":\"not-supported\""), "%s", post.text);
}

/* ---- the replay cache and the event streams against keys made up for the purpose -------- */

static uint64_t replay_cache_entries(void)
{
    response *m = get("/metrics");
    const char *at = strstr(m->body, "\ntrialreg_http_replay_cache_entries ");
    cr_assert_not_null(at, "the replay cache gauge is missing: %s", m->body);
    return strtoull(at + 36, NULL, 10);
}

/* Any key can sign, so a signature is remembered only for a request answered 2xx: requests
 * of keys that may read nothing leave the cache as it was, however many they send (before,
 * a flood of them filled it and every signed read got 503 BUSY). The same request signed
 * twice in one second is two requests (the signer's random nonce), and a replay of an
 * answered one is still refused. */
Test(http, signatures_of_refused_requests_are_not_kept_so_made_up_keys_cannot_fill_the_replay_cache)
{
    cr_assert_eq(scenario_run(&w, NULL), 0);
    start(0, 0);
    char id[65], target[128], lines[900];
    first_tx_id(id);
    snprintf(target, sizeof target, "/v1/receipts/%s", id);
    uint64_t before = replay_cache_entries();
    response r;
    for (int i = 0; i < 200; i++) {
        keypair stranger;
        tcrypto_keypair_generate(&stranger);
        const char *t = i % 3 == 0 ? target : i % 3 == 1 ? "/v1/blocks?from=1" : "/v1/events";
        signed_get(t, &stranger, world_s(), &w.chain_id, NULL, &r, lines);
        cr_assert_eq(r.status, 403, "a made-up key on %s: %s", t, r.text);
    }
    cr_expect_eq(replay_cache_entries(), before, "refused requests left signatures in the cache");
    signed_get(target, &w.regulator, world_s(), &w.chain_id, NULL, &r, lines);
    cr_assert_eq(r.status, 200, "%s", r.text);
    char first[900];
    snprintf(first, sizeof first, "%s", lines);
    signed_get(target, &w.regulator, world_s(), &w.chain_id, NULL, &r, lines);
    cr_expect_eq(r.status, 200, "the same read signed again in the same second: %s", r.text);
    cr_expect_eq(replay_cache_entries(), before + 2, "two answered reads are remembered");
    int fd = dial();
    char head[2048];
    int n = snprintf(head, sizeof head, "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n%s\r\n",
                     target, first);
    cr_assert_eq(write(fd, head, (size_t)n), n);
    size_t got = 0;
    for (ssize_t k; (k = read(fd, r.text + got, sizeof r.text - 1 - got)) > 0;) got += (size_t)k;
    r.text[got] = '\0';
    close(fd);
    cr_expect(strstr(r.text, "HTTP/1.1 401") && strstr(r.text, "REPLAYED"), "a replay: %s", r.text);
}

/* Event streams are bounded per key (4) and in all (128), far below the 1,024 connections,
 * so no key holds every connection; a key with no role gets none (403 above). A closed
 * stream gives its place back. */
Test(http, a_key_holds_at_most_four_event_streams)
{
    cr_assert_eq(scenario_run(&w, NULL), 0);
    start(0, 0);
    char buf[8192];
    int fds[4];
    for (int i = 0; i < 4; i++) {
        fds[i] = stream_open("/v1/events?from=1", &w.regulator, NULL);
        memset(buf, 0, sizeof buf);
        stream_read_until(fds[i], buf, sizeof buf, 0, "\r\n\r\n", 3000);
        cr_assert(strstr(buf, "HTTP/1.1 200"), "stream %d: %s", i, buf);
    }
    int fd = stream_open("/v1/events?from=1", &w.regulator, NULL);
    memset(buf, 0, sizeof buf);
    stream_read_until(fd, buf, sizeof buf, 0, "}", 3000);
    cr_expect(strstr(buf, "HTTP/1.1 503") && strstr(buf, "BUSY"), "a fifth stream: %s", buf);
    close(fd);
    fd = stream_open("/v1/events?from=1", &w.sponsor, NULL);
    memset(buf, 0, sizeof buf);
    stream_read_until(fd, buf, sizeof buf, 0, "\r\n\r\n", 3000);
    cr_expect(strstr(buf, "HTTP/1.1 200"), "another key's stream: %s", buf);
    close(fd);
    close(fds[0]);
    bool again = false;
    /* a suspended stream notices its reader is gone when it next writes: its keep-alive
     * comment, at most 15 s on */
    for (int tries = 0; tries < 40 && !again; tries++) {
        usleep(500 * 1000);
        fd = stream_open("/v1/events?from=1", &w.regulator, NULL);
        memset(buf, 0, sizeof buf);
        stream_read_until(fd, buf, sizeof buf, 0, "\r\n\r\n", 3000);
        again = strstr(buf, "HTTP/1.1 200") != NULL;
        close(fd);
    }
    cr_expect(again, "a stream once one of the four closed: %s", buf);
    for (int i = 1; i < 4; i++) close(fds[i]);
}

/* A trial id is any 1..32 bytes to the contracts, but a path holds text: an id that is not
 * printable ASCII gets a 400 that says so, never a 500 from JSON that cannot hold it. */
Test(http, a_trial_id_that_is_not_text_is_refused_with_a_reason)
{
    cr_assert_eq(scenario_run(&w, NULL), 0);
    start(0, 0);
    const char *paths[] = {"/v1/trials/%FF-trial/history", "/v1/trials/a%20b/history"};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        response *r = get(paths[i]);
        cr_expect_eq(r->status, 400, "%s: %s", paths[i], r->text);
        cr_expect(strstr(r->body, "printable ASCII") != NULL, "%s: %s", paths[i], r->body);
    }
    cr_expect_eq(get("/v1/trials/" SCENARIO_TRIAL "/history")->status, 200);
}
