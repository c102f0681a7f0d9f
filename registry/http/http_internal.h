/*
 * http_internal.h - what the HTTP server's files share (not a public header).
 */
#ifndef TRIALREG_HTTP_INTERNAL_H
#define TRIALREG_HTTP_INTERNAL_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>

#include "codec.h"
#include "http_api.h"
#include "http_json.h"

struct conn;
typedef struct http_seen http_seen;
typedef struct http_stream http_stream;
typedef struct http_envelopes http_envelopes;
http_envelopes *http_envelopes_new(uint32_t cap);
void http_envelopes_free(http_envelopes *s);
http_seen *http_seen_new(void);
void http_seen_free(http_seen *s);

/* One HTTP request: its raw target (with the query, as the client sent it: RFC 9421's
 * @path and @query are taken from it) and its body. */
typedef struct {
    char uri[2048];
    bool uri_too_long;
    bool started;
    bool too_large;
    uint8_t *body;
    size_t body_len;
    size_t body_cap;
} http_request;

struct http_api {
    http_config cfg;
    struct MHD_Daemon *daemon;
    uint16_t port;
    char *pem;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    pthread_t sweeper;
    bool sweeper_started;
    bool closing;
    struct conn *conns;        /* under mu */
    uint32_t conn_count;       /* under mu */
    uint64_t deadline_cuts;    /* under mu */
    uint64_t responses[5];     /* by class: [1] 2xx .. [4] 5xx (atomic) */
    http_seen *seen;           /* signatures seen within the skew (http_auth.c) */
    http_envelopes *envelopes; /* the e-consent envelope store (http_envelopes.c) */
    http_stream *streams;      /* open /v1/events streams (http_events.c), under mu */
    uint32_t export_streams;   /* running /v1/export streams (http_export.c, atomic) */
    bool streams_due;          /* http_certified: the sweeper resumes the streams now; under mu */
    uint64_t certified_count;  /* http_certified calls; written under mu, read atomically */
};

/* The key that signed this request (RFC 9421 with the project's profile: httpsig.h), its
 * Content-Digest checked against the body and its signature not seen before within the
 * skew; false with the refusal otherwise (401 BAD_SIGNATURE, STALE or REPLAYED; 503 BUSY). */
bool http_authenticate(http_api *h, struct MHD_Connection *c, const char *method,
                       const http_request *rq, pubkey *key, http_refusal *no);

/* The replay cache around one request (http_auth.c): begin before its route, settle with
 * the status it was answered (a signature stays remembered only for a 2xx answer); how
 * many signatures it remembers now (the metric). */
void http_seen_begin(void);
void http_seen_settle(http_api *h, unsigned status);
uint32_t http_seen_live(http_api *h, uint64_t now_ms);

enum MHD_Result http_route(http_api *h, struct MHD_Connection *c, const char *method,
                           const char *url, http_request *rq);
/* The reads (http_reads.c): true if url is one of theirs, the answer sent (*sent). */
bool http_route_reads(http_api *h, struct MHD_Connection *c, const char *method, const char *url,
                      http_request *rq, enum MHD_Result *sent);
/* The page bundle under /app (http_static.c): true if url is under it, the answer sent. */
bool http_route_static(http_api *h, struct MHD_Connection *c, const char *method, const char *url,
                       enum MHD_Result *sent);
/* /v1/envelopes (http_envelopes.c): true if url is one of its paths, the answer sent. */
bool http_route_envelopes(http_api *h, struct MHD_Connection *c, const char *method,
                          const char *url, http_request *rq, enum MHD_Result *sent);
/* The FHIR R4 reads under /fhir/ (http_fhir.c): true if url is one of theirs, answered. */
bool http_route_fhir(http_api *h, struct MHD_Connection *c, const char *method, const char *url,
                     http_request *rq, enum MHD_Result *sent);
/* GET /v1/events (http_events.c), and resuming the suspended streams (the sweeper, called
 * with mu held; it lets go of mu while it resumes them). */
enum MHD_Result http_get_events(http_api *h, struct MHD_Connection *c, const http_request *rq);
void http_streams_resume(http_api *h);
/* GET /v1/export (http_export.c): the whole ledger as an export file, streamed. */
enum MHD_Result http_get_export(http_api *h, struct MHD_Connection *c, const http_request *rq);
/* Ask the client API (as asker, or NULL): the decoded response, its body in reply. */
bool http_capi(http_api *h, const pubkey *asker, uint32_t kind, const uint8_t *body, size_t len,
               uint8_t *reply, size_t reply_cap, codec_client_response *resp);

enum MHD_Result http_send(struct MHD_Connection *c, unsigned status, const char *type,
                          const void *body, size_t len);
/* Send doc (its reference is taken) as compact JSON. */
enum MHD_Result http_send_json(http_api *h, struct MHD_Connection *c, unsigned status,
                               json_t *doc);
/* {"error": code, "reason": ...} */
enum MHD_Result http_error(http_api *h, struct MHD_Connection *c, unsigned status,
                           const char *code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
void http_count(http_api *h, unsigned status);
/* Monotonic ms (timers), and UTC ms from cfg.clock or the system clock (signatures). */
uint64_t http_mono_ms(void);
uint64_t http_now_ms(const http_api *h);

#endif
