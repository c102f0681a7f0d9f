/*
 * http_api.h - the HTTP/1.1 JSON API of a validator (docs/HTTP.md), in-process beside the
 * nng client API and answering through the same request handler (client_api.h's
 * capi_handle: the host passes it as `handler`), so both transports give the same answers
 * under the same role checks. libmicrohttpd does HTTP (parsing, keep-alive, connection,
 * per-address and memory limits, TLS through GnuTLS); this module routes, authenticates
 * and renders JSON.
 *
 * Served today:
 *   GET  /healthz        200 "ok" while the process serves (no signature)
 *   GET  /readyz         200 when caught up and in a view with a primary, else 503
 *   GET  /v1/status      the node's height, view, primary, view change, pending (JSON)
 *   GET  /metrics        Prometheus text exposition (no signature: Prometheus cannot sign)
 *   POST /v1/txs         submit txs: application/msgpack (one canonical tx) or
 *                        application/json {"txs": ["<base64 tx>", ...]}; an answer per tx
 *   GET  /v1/receipts/{tx id}, /v1/blocks?from&count, /v1/trials/{T},
 *        /v1/trials/{T}/participants/{key}/consent?from, /v1/trials/{T}/timeline?from
 *        (JSON pages; text with Accept: text/plain), /v1/trials/{T}/grants/{G}/records?from
 *        (the researcher's request logged as evidence), /v1/trials/{T}/read-log?from
 *                        signed reads (RFC 9421), answered by role as on the nng API
 *   GET  /v1/trials/{T}/history   the public protocol history (no signature)
 *   GET  /v1/events      the events the signer may see (text/event-stream)
 *   GET  /v1/export      the whole ledger as an export file, streamed (signed, as BLOCKS)
 *   POST /v1/envelopes, GET and PUT /v1/envelopes/{id}
 *                        the e-consent envelope store (signed; in memory, expiring)
 *   GET  /app/...        the web pages (web/, embedded at build time; docs/WEB.md)
 * Every other path answers 404, a known path with another method 405, each with a JSON
 * error {"error": CODE, "reason": TEXT}.
 *
 * Limits: at most conns_max connections and per_address_max per client address (503 or
 * a closed connection beyond), header_bytes_max of request headers (431/413 by
 * libmicrohttpd), body_max of body (413), and a deadline: a connection must complete its
 * request headers within header_deadline_ms of connecting or of its previous response
 * (slow-loris; libmicrohttpd's own timeout is by inactivity only), else it is closed.
 *
 * Threads: libmicrohttpd's (a small pool); handler and status are called on them.
 */
#ifndef TRIALREG_HTTP_API_H
#define TRIALREG_HTTP_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "crypto.h"

/* The client API's handler (capi_handle_as's signature): asker is the key the HTTP request
 * was signed with (RFC 9421, checked here), or NULL for what needs no signature. */
typedef size_t (*http_handler_fn)(void *ctx, const pubkey *asker, const uint8_t *request,
                                  size_t len, uint8_t *reply, size_t reply_cap);

typedef struct {
    uint32_t node;
    uint64_t height;
    uint64_t view;
    uint32_t primary;
    bool view_changing;
    bool caught_up;           /* no missing heights known (docs/HTTP.md "readiness") */
    uint32_t pending;         /* requests waiting to be ordered */
    uint64_t committed_txs;
} http_node_status;

typedef void (*http_status_fn)(void *ctx, http_node_status *out);
/* Write the node's own metrics in the Prometheus text format (the HTTP server adds its own). */
typedef void (*http_metrics_fn)(void *ctx, FILE *out);

typedef struct {
    const char *address;              /* "HOST:PORT"; port 0 = any (tests) */
    const char *tls_cert_key_file;    /* PEM holding the certificate and its key; NULL or ""
                                       * = plain HTTP, which only a loopback address may use */
    http_handler_fn handler;
    void *handler_ctx;
    http_status_fn status;
    void *status_ctx;
    http_metrics_fn metrics;          /* NULL: /metrics has the HTTP server's metrics only */
    void *metrics_ctx;
    hash32 chain_id;                  /* signed requests must carry this chain's tag */
    uint64_t skew_ms;                 /* accepted |clock - created|; 0 = 30000 */
    uint64_t (*clock)(void *ctx);     /* UTC ms; NULL = the system clock (tests inject one) */
    void *clock_ctx;
    uint32_t conns_max;               /* 0 = 1024 */
    uint32_t per_address_max;         /* 0 = 256 */
    uint32_t header_deadline_ms;      /* 0 = 10000 */
    uint32_t idle_timeout_s;          /* 0 = 30 */
    uint32_t body_max;                /* 0 = 4 MiB */
    uint32_t events_poll_ms;          /* suspended /v1/events streams look again this often
                                       * besides at each http_certified; 0 = 250 */
    uint32_t threads;                 /* 0 = 4 */
    /* The e-consent envelope store (http_envelopes.c, docs/HTTP.md "Envelopes"), in memory
     * only: an envelope lives at most envelope_ttl_max_ms (0 = 15 min, at most 1 h); the
     * store holds at most envelopes_max envelopes (0 = 256) and envelope_bytes_max bytes
     * (0 = 2 MiB) and refuses more with 503. */
    uint64_t envelope_ttl_max_ms;
    uint32_t envelopes_max;
    uint32_t envelope_bytes_max;
} http_config;

typedef struct http_api http_api;

/* Start serving. NULL with the reason in why (address in use, a non-loopback address
 * without TLS, an unreadable certificate). */
http_api *http_open(const http_config *cfg, char *why, size_t why_cap);
/* A result certificate was stored at height (any thread; the host calls it from the node's
 * node_on_certified): the suspended /v1/events streams look again now instead of at the
 * sweeper's next turn (every 250 ms). Cheap: it only wakes the sweeper. */
void http_certified(http_api *h, uint64_t height);
/* The port bound (useful with port 0). */
uint16_t http_port(const http_api *h);
void http_close(http_api *h);
/* The SHA-256 of the embedded page bundle's canonical listing (docs/WEB.md), 64 hex. */
const char *http_bundle_sha256(void);

#endif
