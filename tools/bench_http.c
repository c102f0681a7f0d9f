/*
 * bench_http.c - the HTTP side of `trialctl bench http` (bench_http.h).
 */
#define _GNU_SOURCE /* memmem, strcasestr */
#include "bench_http.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "httpsig.h"

static int dial(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    /* requests are written whole; no Nagle delay waiting for the server's ACK */
    if (fd >= 0) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static bool write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k <= 0) return false;
        p += k;
        n -= (size_t)k;
    }
    return true;
}

/* Read one response with a Content-Length; its body into a new buffer. */
static char *read_response(int fd, int *status, size_t *body_len)
{
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    char *end = NULL;
    while (buf && !(end = memmem(buf, len, "\r\n\r\n", 4))) {
        if (len + 1 >= cap) break;
        ssize_t k = read(fd, buf + len, cap - 1 - len);
        if (k <= 0) break;
        len += (size_t)k;
    }
    if (!end || sscanf(buf, "HTTP/1.1 %d", status) != 1) return free(buf), NULL;
    buf[len] = '\0';
    const char *cl = strcasestr(buf, "Content-Length:");
    size_t want = cl ? strtoul(cl + 15, NULL, 10) : 0, head = (size_t)(end + 4 - buf);
    char *body = malloc(want + 1);
    size_t have = len - head < want ? len - head : want;
    if (body) memcpy(body, buf + head, have);
    free(buf);
    while (body && have < want) {
        ssize_t k = read(fd, body + have, want - have);
        if (k <= 0) return free(body), NULL;
        have += (size_t)k;
    }
    if (body) body[want] = '\0';
    *body_len = want;
    return body;
}

bool bench_http_submit(int *fd, uint16_t port, const codec_span *txs, uint32_t count,
                       bool *accepted, char *why, size_t why_cap)
{
    json_t *list = json_array();
    for (uint32_t i = 0; i < count; i++) {
        char *b64 = malloc(TCRYPTO_BASE64_LEN(txs[i].len));
        tcrypto_base64_encode(txs[i].data, txs[i].len, b64);
        json_array_append_new(list, json_string(b64));
        free(b64);
    }
    json_t *doc = json_pack("{s:o}", "txs", list);
    char *body = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    bool ok = false;
    for (int attempt = 0; attempt < 2 && !ok && body; attempt++) {
        if (*fd < 0) *fd = dial(port);
        if (*fd < 0) break;
        size_t blen = strlen(body);
        char *msg = malloc(blen + 256);
        int n = msg ? snprintf(msg, 256, "POST /v1/txs HTTP/1.1\r\nHost: localhost\r\n"
                               "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n", blen) : 0;
        if (msg) memcpy(msg + n, body, blen);
        int status = 0;
        size_t rlen = 0;
        char *reply = msg && write_all(*fd, msg, (size_t)n + blen) ? read_response(*fd, &status, &rlen)
                                                                   : NULL;
        free(msg);
        json_t *answer = reply && status == 200 ? json_loadb(reply, rlen, 0, NULL) : NULL;
        json_t *results = json_object_get(answer, "results");
        if (json_array_size(results) == count) {
            for (uint32_t i = 0; i < count; i++)
                accepted[i] = json_is_true(json_object_get(json_array_get(results, i), "accepted"));
            ok = true;
        } else {
            snprintf(why, why_cap, "POST /v1/txs answered %d: %.200s", status, reply ? reply : "");
            close(*fd);
            *fd = -1;
        }
        json_decref(answer);
        free(reply);
    }
    free(body);
    return ok;
}

/* ---- the events reader ---------------------------------------------------------------- */

struct bench_events {
    pthread_t thread;
    bool started;
    volatile int stop;
    int fd;
    const hash32 *ids;
    uint32_t n;
    double *arrived;
    uint32_t *slots; /* open addressing over ids: index + 1, 0 empty */
    uint32_t mask;
};

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint32_t slot_of(const bench_events *e, const uint8_t *id)
{
    uint32_t h;
    memcpy(&h, id, 4);
    return h & e->mask;
}

static void note(bench_events *e, const char *hex)
{
    uint8_t id[32];
    if (!tcrypto_from_hex(hex, 64, id, 32)) return;
    for (uint32_t s = slot_of(e, id), k = 0; k <= e->mask; s = (s + 1) & e->mask, k++) {
        uint32_t v = e->slots[s];
        if (v == 0) return;
        if (memcmp(e->ids[v - 1].bytes, id, 32) == 0) {
            if (e->arrived[v - 1] == 0) e->arrived[v - 1] = mono_s();
            return;
        }
    }
}

static void *reader_main(void *arg)
{
    bench_events *e = arg;
    static char buf[1 << 20];
    size_t len = 0;
    while (!e->stop) {
        struct pollfd p = {e->fd, POLLIN, 0};
        if (poll(&p, 1, 100) != 1) continue;
        ssize_t k = read(e->fd, buf + len, sizeof buf - 1 - len);
        if (k <= 0) break;
        len += (size_t)k;
        buf[len] = '\0';
        char *line = buf, *nl;
        while ((nl = strchr(line, '\n'))) {
            *nl = '\0';
            const char *at = strstr(line, "\"tx_id\":\"");
            if (strncmp(line, "data: ", 6) == 0 && at) note(e, at + 9);
            line = nl + 1;
        }
        len -= (size_t)(line - buf);
        memmove(buf, line, len);
    }
    return NULL;
}

static const char *no_header(void *ctx, const char *name)
{
    (void)ctx, (void)name;
    return NULL;
}

bench_events *bench_events_start(uint16_t port, const keypair *reader, const hash32 *chain,
                                 uint64_t from, const hash32 *ids, uint32_t n, double *arrived)
{
    bench_events *e = calloc(1, sizeof *e);
    if (!e) return NULL;
    uint32_t cap = 1;
    while (cap < 2 * n + 2) cap <<= 1;
    e->slots = calloc(cap, sizeof *e->slots);
    e->mask = cap - 1;
    e->ids = ids;
    e->n = n;
    e->arrived = arrived;
    for (uint32_t i = 0; e->slots && i < n; i++) {
        uint32_t s = slot_of(e, ids[i].bytes);
        while (e->slots[s]) s = (s + 1) & e->mask;
        e->slots[s] = i + 1;
    }
    char query[32], input[600], sig[200], head[1200];
    snprintf(query, sizeof query, "from=%llu", (unsigned long long)from);
    httpsig_request rq = {"GET", "/v1/events", query, "localhost", no_header, NULL};
    e->fd = -1;
    e->fd = e->slots ? dial(port) : -1;
    if (e->fd < 0 || !httpsig_sign(&rq, false, reader, chain, (int64_t)time(NULL), input,
                                   sizeof input, sig, sizeof sig)) {
        bench_events_stop(e);
        return NULL;
    }
    int k = snprintf(head, sizeof head, "GET /v1/events?%s HTTP/1.1\r\nHost: localhost\r\n"
                     "Signature-Input: %s\r\nSignature: %s\r\n\r\n", query, input, sig);
    if (!write_all(e->fd, head, (size_t)k) || pthread_create(&e->thread, NULL, reader_main, e) != 0) {
        bench_events_stop(e);
        return NULL;
    }
    e->started = true;
    return e;
}

void bench_events_stop(bench_events *e)
{
    if (!e) return;
    if (e->started) {
        e->stop = 1;
        pthread_join(e->thread, NULL);
    }
    if (e->fd >= 0) close(e->fd);
    free(e->slots);
    free(e);
}
