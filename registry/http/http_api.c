/*
 * http_api.c - the HTTP server (http_api.h): libmicrohttpd plumbing, the connection
 * deadline, request bodies and responses. The endpoints are in http_routes.c.
 */
#define _GNU_SOURCE
#include "http_api.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http_internal.h"

/* ---- connections and the header deadline ------------------------------------------------ */

typedef struct conn {
    int fd;
    uint64_t since_ms;  /* connected, or answered its last request */
    bool in_request;    /* its request headers are complete */
    bool cut;
    struct conn *prev, *next;
} conn;

uint64_t http_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t http_now_ms(const http_api *h)
{
    if (h->cfg.clock) return h->cfg.clock(h->cfg.clock_ctx);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode what)
{
    http_api *h = cls;
    pthread_mutex_lock(&h->mu);
    if (what == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        conn *k = calloc(1, sizeof *k);
        if (k && info) {
            k->fd = info->connect_fd;
            k->since_ms = http_mono_ms();
            k->next = h->conns;
            if (h->conns) h->conns->prev = k;
            h->conns = k;
            h->conn_count++;
        } else {
            free(k);
            k = NULL;
        }
        *socket_ctx = k;
    } else if (*socket_ctx) { /* closed: unlink before libmicrohttpd closes the socket */
        conn *k = *socket_ctx;
        if (k->prev) k->prev->next = k->next;
        else h->conns = k->next;
        if (k->next) k->next->prev = k->prev;
        h->conn_count--;
        free(k);
        *socket_ctx = NULL;
    }
    pthread_mutex_unlock(&h->mu);
}

static conn *conn_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info ? info->socket_context : NULL;
}

static void mark(http_api *h, struct MHD_Connection *c, bool in_request)
{
    pthread_mutex_lock(&h->mu);
    conn *k = conn_of(c);
    if (k) {
        k->in_request = in_request;
        k->since_ms = http_mono_ms();
    }
    pthread_mutex_unlock(&h->mu);
}

/* Every 250 ms: shut down connections whose request headers are late; libmicrohttpd then
 * sees the end of the stream and closes them. Resume the suspended event streams every
 * events_poll_ms, and at once when http_certified says a certificate was stored. */
static void *sweeper_main(void *arg)
{
    http_api *h = arg;
    pthread_mutex_lock(&h->mu);
    uint64_t resumed_ms = http_mono_ms();
    while (!h->closing) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 250 * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        if (!h->streams_due) pthread_cond_timedwait(&h->wake, &h->mu, &until);
        uint64_t now = http_mono_ms();
        if (h->streams_due || now - resumed_ms >= h->cfg.events_poll_ms) {
            h->streams_due = false;
            resumed_ms = now;
            http_streams_resume(h);
        }
        for (conn *k = h->conns; k; k = k->next) {
            if (k->in_request || k->cut || now - k->since_ms < h->cfg.header_deadline_ms) continue;
            shutdown(k->fd, SHUT_RDWR);
            k->cut = true;
            h->deadline_cuts++;
        }
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

/* The status this thread last answered (http_count), for the replay cache's settling. */
static _Thread_local unsigned last_status;

/* ---- requests ------------------------------------------------------------------------------ */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls, (void)c;
    http_request *rq = calloc(1, sizeof *rq);
    if (rq) snprintf(rq->uri, sizeof rq->uri, "%s", uri);
    if (rq && strlen(uri) >= sizeof rq->uri) rq->uri_too_long = true;
    return rq;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)toe;
    http_api *h = cls;
    http_request *rq = *con_cls;
    if (rq) {
        free(rq->body);
        free(rq);
    }
    *con_cls = NULL;
    mark(h, c, false);
}

enum MHD_Result http_send(struct MHD_Connection *c, unsigned status, const char *type,
                          const void *body, size_t len)
{
    last_status = status;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ok = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ok;
}

enum MHD_Result http_send_json(http_api *h, struct MHD_Connection *c, unsigned status,
                               json_t *doc)
{
    char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!text) {
        static const char why[] = "{\"error\":\"INTERNAL\",\"reason\":\"the answer could not be "
                                  "written as JSON (out of memory, or text that is not UTF-8)\"}";
        http_count(h, 500);
        return http_send(c, 500, "application/json", why, sizeof why - 1);
    }
    size_t len = strlen(text);
    enum MHD_Result ok = http_send(c, status, "application/json", text, len);
    free(text);
    http_count(h, status);
    return ok;
}

enum MHD_Result http_error(http_api *h, struct MHD_Connection *c, unsigned status,
                           const char *code, const char *fmt, ...)
{
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    return http_send_json(h, c, status, json_pack("{s:s, s:s}", "error", code, "reason", reason));
}

void http_count(http_api *h, unsigned status)
{
    last_status = status;
    unsigned i = status >= 500 ? 4 : status >= 400 ? 3 : status >= 300 ? 2 : 1;
    __atomic_fetch_add(&h->responses[i], 1, __ATOMIC_RELAXED);
}

/* Append upload data; false once the body exceeds the bound (the rest is discarded). */
static void take_body(http_api *h, http_request *rq, const char *data, size_t len)
{
    if (rq->too_large) return;
    if (rq->body_len + len > h->cfg.body_max) {
        rq->too_large = true;
        return;
    }
    if (rq->body_len + len > rq->body_cap) {
        size_t cap = rq->body_cap ? rq->body_cap : 4096;
        while (cap < rq->body_len + len) cap *= 2;
        uint8_t *b = realloc(rq->body, cap);
        if (!b) {
            rq->too_large = true;
            return;
        }
        rq->body = b;
        rq->body_cap = cap;
    }
    memcpy(rq->body + rq->body_len, data, len);
    rq->body_len += len;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload, size_t *upload_len, void **con_cls)
{
    (void)version;
    http_api *h = cls;
    http_request *rq = *con_cls;
    if (!rq) return MHD_NO; /* out of memory in on_uri: drop the connection */
    if (!rq->started) {
        rq->started = true;
        mark(h, c, true);
        return MHD_YES; /* headers are in; the body (if any) follows */
    }
    if (*upload_len > 0) {
        take_body(h, rq, upload, *upload_len);
        *upload_len = 0;
        return MHD_YES;
    }
    if (rq->uri_too_long) return http_error(h, c, 414, "URI_TOO_LONG", "the request target is too long");
    if (rq->too_large)
        return http_error(h, c, 413, "TOO_LARGE", "the body exceeds %u bytes", h->cfg.body_max);
    http_seen_begin();
    last_status = 0;
    enum MHD_Result sent = http_route(h, c, method, url, rq);
    http_seen_settle(h, last_status);
    return sent;
}

/* ---- open / close -------------------------------------------------------------------------- */

static bool parse_address(const char *address, struct sockaddr_in *out, char *why, size_t cap)
{
    char host[64];
    const char *colon = address ? strrchr(address, ':') : NULL;
    if (!colon || (size_t)(colon - address) >= sizeof host) {
        snprintf(why, cap, "http address \"%s\" is not HOST:PORT", address ? address : "");
        return false;
    }
    memcpy(host, address, (size_t)(colon - address));
    host[colon - address] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    memset(out, 0, sizeof *out);
    out->sin_family = AF_INET;
    out->sin_port = htons((uint16_t)port);
    if (*end || port < 0 || port > 65535 || inet_pton(AF_INET, host, &out->sin_addr) != 1) {
        snprintf(why, cap, "http address \"%s\" is not IPv4-HOST:PORT", address);
        return false;
    }
    return true;
}

static char *read_file(const char *path, char *why, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f) return snprintf(why, cap, "cannot read %s: %s", path, strerror(errno)), NULL;
    char *buf = malloc(1 << 20);
    size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if (!buf || n == 0) {
        free(buf);
        return snprintf(why, cap, "%s is empty or unreadable", path), NULL;
    }
    buf[n] = '\0';
    return buf;
}

static void defaults(http_config *c)
{
    if (!c->conns_max) c->conns_max = 1024;
    if (!c->per_address_max) c->per_address_max = 256;
    if (!c->header_deadline_ms) c->header_deadline_ms = 10000;
    if (!c->idle_timeout_s) c->idle_timeout_s = 30;
    if (!c->body_max) c->body_max = 4u << 20;
    if (!c->threads) c->threads = 4;
    if (!c->skew_ms) c->skew_ms = 30000;
    if (!c->events_poll_ms) c->events_poll_ms = 250;
    if (!c->envelope_ttl_max_ms) c->envelope_ttl_max_ms = 15 * 60 * 1000;
    if (c->envelope_ttl_max_ms > 60 * 60 * 1000) c->envelope_ttl_max_ms = 60 * 60 * 1000;
    if (!c->envelopes_max) c->envelopes_max = 256;
    if (!c->envelope_bytes_max) c->envelope_bytes_max = 2u << 20;
}

http_api *http_open(const http_config *cfg, char *why, size_t why_cap)
{
    http_api *h = calloc(1, sizeof *h);
    if (!h) return snprintf(why, why_cap, "out of memory"), NULL;
    h->cfg = *cfg;
    defaults(&h->cfg);
    bool tls = cfg->tls_cert_key_file && cfg->tls_cert_key_file[0];
    struct sockaddr_in addr;
    if (!parse_address(cfg->address, &addr, why, why_cap)) return free(h), NULL;
    if (!tls && (ntohl(addr.sin_addr.s_addr) >> 24) != 127) {
        snprintf(why, why_cap, "http address %s is not a loopback address: plain HTTP is for "
                 "this machine only; give the node a certificate (trialctl init --tls)",
                 cfg->address);
        return free(h), NULL;
    }
    if (tls && !(h->pem = read_file(cfg->tls_cert_key_file, why, why_cap))) return free(h), NULL;
    if (!(h->seen = http_seen_new()) || !(h->envelopes = http_envelopes_new(h->cfg.envelopes_max))) {
        http_seen_free(h->seen);
        free(h->pem);
        free(h);
        return snprintf(why, why_cap, "out of memory"), NULL;
    }
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->wake, NULL);
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME
                     | (tls ? MHD_USE_TLS : 0);
    h->daemon = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)h->cfg.threads,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)h->cfg.conns_max,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)h->cfg.per_address_max,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)h->cfg.idle_timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024),
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, h, MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
        tls ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, h->pem,
        MHD_OPTION_HTTPS_MEM_CERT, h->pem, MHD_OPTION_END);
    if (!h->daemon) {
        snprintf(why, why_cap, "cannot serve HTTP on %s (address in use, or a bad certificate)",
                 cfg->address);
        http_close(h);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : 0;
    if (pthread_create(&h->sweeper, NULL, sweeper_main, h) != 0) {
        snprintf(why, why_cap, "cannot start a thread");
        http_close(h);
        return NULL;
    }
    h->sweeper_started = true;
    return h;
}

uint16_t http_port(const http_api *h) { return h->port; }

void http_certified(http_api *h, uint64_t height)
{
    (void)height; /* each stream knows the height it waits for */
    pthread_mutex_lock(&h->mu);
    __atomic_add_fetch(&h->certified_count, 1, __ATOMIC_RELEASE);
    h->streams_due = true;
    pthread_cond_signal(&h->wake);
    pthread_mutex_unlock(&h->mu);
}

void http_close(http_api *h)
{
    if (!h) return;
    if (h->sweeper_started) {
        pthread_mutex_lock(&h->mu);
        h->closing = true;
        pthread_cond_broadcast(&h->wake);
        pthread_mutex_unlock(&h->mu);
        pthread_join(h->sweeper, NULL);
        /* libmicrohttpd stops no daemon with a suspended connection: resume the streams,
         * which end at once now that closing is set */
        pthread_mutex_lock(&h->mu);
        http_streams_resume(h);
        pthread_mutex_unlock(&h->mu);
    }
    if (h->daemon) MHD_stop_daemon(h->daemon);
    pthread_cond_destroy(&h->wake);
    pthread_mutex_destroy(&h->mu);
    http_seen_free(h->seen);
    http_envelopes_free(h->envelopes);
    free(h->pem);
    free(h);
}
