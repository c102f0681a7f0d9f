/*
 * http_routes.c - the endpoints of the HTTP API (http_api.h lists them).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "http_internal.h"

#define REPLY_MAX (1u << 20)

/* ---- health, readiness, status, metrics ----------------------------------------------------- */

static void node_status(http_api *h, http_node_status *st)
{
    memset(st, 0, sizeof *st);
    if (h->cfg.status) h->cfg.status(h->cfg.status_ctx, st);
}

static bool ready(const http_node_status *st) { return st->caught_up && !st->view_changing; }

static enum MHD_Result get_healthz(http_api *h, struct MHD_Connection *c)
{
    http_count(h, 200);
    return http_send(c, 200, "text/plain", "ok\n", 3);
}

static enum MHD_Result get_readyz(http_api *h, struct MHD_Connection *c)
{
    http_node_status st;
    node_status(h, &st);
    unsigned code = ready(&st) ? 200 : 503;
    const char *why = ready(&st) ? "ready\n"
                      : st.view_changing ? "not ready: changing view (no primary yet)\n"
                                         : "not ready: catching up (missing heights)\n";
    http_count(h, code);
    return http_send(c, code, "text/plain", why, strlen(why));
}

static enum MHD_Result get_status(http_api *h, struct MHD_Connection *c)
{
    http_node_status st;
    node_status(h, &st);
    return http_send_json(h, c, 200,
                          json_pack("{s:I, s:I, s:I, s:I, s:b, s:b, s:b, s:I, s:I}", "node",
                                    (json_int_t)st.node, "height", (json_int_t)st.height, "view",
                                    (json_int_t)st.view, "primary", (json_int_t)st.primary,
                                    "view_changing", st.view_changing, "caught_up", st.caught_up,
                                    "ready", ready(&st), "pending", (json_int_t)st.pending,
                                    "committed_txs", (json_int_t)st.committed_txs));
}

static enum MHD_Result get_metrics(http_api *h, struct MHD_Connection *c)
{
    pthread_mutex_lock(&h->mu);
    uint32_t conns = h->conn_count;
    uint64_t cuts = h->deadline_cuts;
    pthread_mutex_unlock(&h->mu);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) return http_error(h, c, 500, "INTERNAL", "out of memory");
    if (h->cfg.metrics) h->cfg.metrics(h->cfg.metrics_ctx, f);
    fprintf(f, "# HELP trialreg_http_connections Open HTTP connections.\n"
               "# TYPE trialreg_http_connections gauge\ntrialreg_http_connections %u\n", conns);
    fprintf(f, "# HELP trialreg_http_deadline_cuts_total Connections closed for sending request "
               "headers too slowly.\n# TYPE trialreg_http_deadline_cuts_total counter\n"
               "trialreg_http_deadline_cuts_total %" PRIu64 "\n", cuts);
    fprintf(f, "# HELP trialreg_http_replay_cache_entries Signatures remembered against replay "
               "(answered 2xx within the clock skew).\n# TYPE trialreg_http_replay_cache_entries "
               "gauge\ntrialreg_http_replay_cache_entries %u\n", http_seen_live(h, http_now_ms(h)));
    fprintf(f, "# HELP trialreg_http_responses_total HTTP responses by status class.\n"
               "# TYPE trialreg_http_responses_total counter\n");
    static const char *classes[] = {"", "2xx", "3xx", "4xx", "5xx"};
    for (int i = 1; i <= 4; i++)
        fprintf(f, "trialreg_http_responses_total{class=\"%s\"} %" PRIu64 "\n", classes[i],
                __atomic_load_n(&h->responses[i], __ATOMIC_RELAXED));
    fclose(f);
    http_count(h, 200);
    enum MHD_Result ok = http_send(c, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
    free(text);
    return ok;
}

/* ---- submit ------------------------------------------------------------------------------ */

static enum MHD_Result post_txs(http_api *h, struct MHD_Connection *c, http_request *rq)
{
    static _Thread_local codec_span txs[CODEC_SUBMIT_BATCH_MAX];
    static _Thread_local codec_submit_result results[CODEC_SUBMIT_BATCH_MAX];
    uint32_t count = 0;
    uint8_t *decoded = NULL;
    http_refusal no;
    const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    if (!http_json_submit_body(type, rq->body, rq->body_len, txs, CODEC_SUBMIT_BATCH_MAX, &count,
                               &decoded, &no)) {
        free(decoded);
        return http_error(h, c, no.status, no.code, "%s", no.reason);
    }
    size_t cap = rq->body_len + 16 * count + 64;
    uint8_t *batch = malloc(cap), *reply = malloc(REPLY_MAX);
    codec_buf b = codec_buf_make(batch, cap);
    codec_client_response resp;
    uint32_t n = 0;
    bool ok = batch && reply && codec_submit_batch_encode(txs, count, &b) == CODEC_OK
              && http_capi(h, NULL, CLIENT_SUBMIT_BATCH, b.data, b.len, reply, REPLY_MAX, &resp);
    enum MHD_Result r;
    if (!ok) {
        r = http_error(h, c, 500, "INTERNAL", "the node did not answer the submit");
    } else if (resp.status != CAPI_OK) {
        r = http_error(h, c, resp.status == CAPI_BAD_BODY ? 400 : 500, capi_status_name(resp.status),
                       "%s", resp.reason);
    } else if (codec_submit_results_decode(resp.body.data, resp.body.len, results,
                                           CODEC_SUBMIT_BATCH_MAX, &n, NULL) != CODEC_OK
               || n != count) {
        r = http_error(h, c, 500, "INTERNAL", "the node's submit results do not decode");
    } else {
        json_t *list = json_array();
        for (uint32_t i = 0; i < count; i++) {
            hash32 id;
            char hex[65];
            tcrypto_sha256(txs[i].data, txs[i].len, &id);
            tcrypto_to_hex(id.bytes, 32, hex);
            json_t *one = json_pack("{s:s, s:b}", "tx_id", hex, "accepted", results[i].status == 0);
            if (results[i].status != 0) {
                json_object_set_new(one, "error", json_string(capi_status_name(results[i].status)));
                json_object_set_new(one, "reason", json_string(results[i].reason));
            }
            json_array_append_new(list, one);
        }
        r = http_send_json(h, c, 200, json_pack("{s:o}", "results", list));
    }
    free(batch);
    free(reply);
    free(decoded);
    return r;
}

/* ---- routing -------------------------------------------------------------------------------- */

typedef struct {
    const char *method;
    const char *path;
    enum MHD_Result (*get)(http_api *h, struct MHD_Connection *c);
    enum MHD_Result (*post)(http_api *h, struct MHD_Connection *c, http_request *rq);
} route;

static const route ROUTES[] = {
    {"GET", "/healthz", get_healthz, NULL},
    {"GET", "/readyz", get_readyz, NULL},
    {"GET", "/v1/status", get_status, NULL},
    {"GET", "/metrics", get_metrics, NULL},
    {"POST", "/v1/txs", NULL, post_txs},
};

enum MHD_Result http_route(http_api *h, struct MHD_Connection *c, const char *method,
                           const char *url, http_request *rq)
{
    enum MHD_Result sent;
    if (http_route_reads(h, c, method, url, rq, &sent)) return sent;
    if (http_route_static(h, c, method, url, &sent)) return sent;
    if (http_route_envelopes(h, c, method, url, rq, &sent)) return sent;
    bool path_known = false;
    for (size_t i = 0; i < sizeof ROUTES / sizeof *ROUTES; i++) {
        if (strcmp(ROUTES[i].path, url) != 0) continue;
        path_known = true;
        if (strcmp(ROUTES[i].method, method) != 0) continue;
        return ROUTES[i].get ? ROUTES[i].get(h, c) : ROUTES[i].post(h, c, rq);
    }
    if (path_known) return http_error(h, c, 405, "METHOD_NOT_ALLOWED", "%s is not allowed on %s", method, url);
    return http_error(h, c, 404, "NOT_FOUND", "no endpoint %s (see docs/openapi.yaml)", url);
}
