/*
 * http_events.c - GET /v1/events: a text/event-stream of every contract event the signing key
 * may see (docs/HTTP.md "Events"). One SSE event per (height, tx, event), with "H.T.E" as its
 * id, sent only once the block's result certificate is stored (so its receipt is complete),
 * filtered per tx by the client API's role rules (EVENTS: exec_tx_visible), resumable with
 * Last-Event-ID or ?from=HEIGHT.
 *
 * Pull, not push: the stream reads the next block from the client API only when
 * libmicrohttpd asks for more bytes, so a slow reader holds at most one block's events and
 * never slows the node; one that reads nothing is cut by the inactivity timeout. With nothing
 * to send the connection is suspended; the sweeper thread resumes the suspended streams as
 * soon as the host says a result certificate was stored (http_certified), and every
 * events_poll_ms (250) besides; a comment line keeps an idle stream alive every 15 s.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_internal.h"
#include "http_json.h"

#define STREAM_BUF_MAX (1u << 20)   /* one block's events, at most */
#define STREAM_BLOCKS_PER_FILL 64   /* blocks looked at per fill when they hold nothing */
#define STREAM_HEARTBEAT_MS 15000

struct http_stream {
    http_api *h;
    struct MHD_Connection *c;
    pubkey asker;
    uint64_t next;                 /* the next height to read */
    uint64_t after_height;         /* resume: skip events up to (height, index, event) */
    int64_t after_index, after_event;
    char *buf;
    size_t len, pos;
    bool suspended;
    uint64_t last_sent_ms;
    struct http_stream *prev, *next_stream;
};

static bool after_resume_point(const http_stream *s, uint64_t height, uint32_t index, uint32_t k)
{
    if (height != s->after_height) return true;
    if ((int64_t)index != s->after_index) return (int64_t)index > s->after_index;
    return (int64_t)k > s->after_event;
}

/* Append the SSE lines of one tx's events to the buffer. false if it would exceed the bound. */
static bool append_tx(http_stream *s, uint64_t height, const codec_event_tx *t)
{
    static _Thread_local codec_receipt r;
    if (codec_receipt_decode(t->receipt.data, t->receipt.len, &r, NULL) != CODEC_OK) return true;
    json_t *receipt = http_json_receipt(&r), *tx = http_json_tx(&t->tx);
    json_t *events = json_object_get(receipt, "events");
    bool ok = true;
    for (uint32_t k = 0; ok && k < r.event_count; k++) {
        if (!after_resume_point(s, height, t->index, k)) continue;
        json_t *ev = json_deep_copy(json_array_get(events, k));
        json_object_set_new(ev, "height", json_integer((json_int_t)height));
        json_object_set_new(ev, "index", json_integer((json_int_t)t->index));
        json_object_set(ev, "tx_id", json_object_get(receipt, "tx_id"));
        json_object_set(ev, "status", json_object_get(receipt, "status"));
        if (tx) {
            json_object_set(ev, "contract", json_object_get(tx, "contract"));
            json_object_set(ev, "method", json_object_get(tx, "method"));
            json_object_set(ev, "signer", json_object_get(tx, "signer"));
        }
        char *data = json_dumps(ev, JSON_COMPACT);
        json_decref(ev);
        if (!data) break;
        size_t need = strlen(data) + 128;
        if (s->len + need > STREAM_BUF_MAX) {
            ok = false;
        } else {
            s->len += (size_t)snprintf(s->buf + s->len, STREAM_BUF_MAX - s->len,
                                       "id: %" PRIu64 ".%u.%u\nevent: %s\ndata: %s\n\n", height,
                                       t->index, k, r.events[k].topic.text, data);
        }
        free(data);
    }
    json_decref(receipt);
    json_decref(tx);
    return ok;
}

/* Read blocks from s->next on until one gives events, the head, or an uncertified block.
 * Returns false if the stream must end (a block's events exceed the bound, the node failed). */
static bool fill(http_stream *s)
{
    static _Thread_local codec_event_tx txs[CODEC_BLOCK_TXS_MAX];
    uint8_t *reply = malloc(CODEC_CLIENT_MESSAGE_MAX + 1024);
    bool ok = reply != NULL;
    for (int b = 0; ok && b < STREAM_BLOCKS_PER_FILL && s->len == 0; b++) {
        uint8_t body[16];
        codec_buf req = codec_buf_make(body, sizeof body);
        codec_events_request_encode(s->next, &req);
        codec_client_response resp;
        if (!http_capi(s->h, &s->asker, CLIENT_EVENTS, req.data, req.len, reply,
                       CODEC_CLIENT_MESSAGE_MAX + 1024, &resp)) {
            ok = false;
            break;
        }
        if (resp.status == CAPI_NOT_FOUND) break; /* past the head: wait */
        uint64_t height, time_ms;
        bool certified;
        uint32_t n = 0;
        if (resp.status != CAPI_OK
            || codec_events_reply_decode(resp.body.data, resp.body.len, &height, &certified, txs,
                                         CODEC_BLOCK_TXS_MAX, &n, &time_ms, NULL) != CODEC_OK) {
            ok = false;
            break;
        }
        if (!certified) break; /* its receipts are not certified yet: wait */
        for (uint32_t i = 0; ok && i < n; i++) ok = append_tx(s, height, &txs[i]);
        s->next++;
    }
    free(reply);
    return ok;
}

/* Nothing to send now: suspend until the sweeper resumes us (a certificate stored, or its
 * poll), unless a certificate was stored since certified (the count) was read before the
 * fill: then look again at once. Returns 0 (suspended), 1 (look again) or -1 (closing). */
static int stream_wait(http_stream *s, uint64_t certified)
{
    pthread_mutex_lock(&s->h->mu);
    int r = s->h->closing ? -1 : s->h->certified_count != certified ? 1 : 0;
    if (r == 0) {
        s->suspended = true;
        MHD_suspend_connection(s->c);
    }
    pthread_mutex_unlock(&s->h->mu);
    return r;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *out, size_t max)
{
    (void)pos;
    http_stream *s = cls;
    while (s->pos == s->len) {
        s->pos = s->len = 0;
        uint64_t certified = __atomic_load_n(&s->h->certified_count, __ATOMIC_ACQUIRE);
        if (!fill(s)) return MHD_CONTENT_READER_END_WITH_ERROR;
        if (s->len == 0 && http_mono_ms() - s->last_sent_ms >= STREAM_HEARTBEAT_MS)
            s->len = (size_t)snprintf(s->buf, STREAM_BUF_MAX, ": keep-alive, next height %" PRIu64 "\n\n", s->next);
        if (s->len > 0) break;
        int waited = stream_wait(s, certified);
        if (waited < 0) return MHD_CONTENT_READER_END_OF_STREAM;
        if (waited == 0) return 0;
    }
    size_t n = s->len - s->pos < max ? s->len - s->pos : max;
    memcpy(out, s->buf + s->pos, n);
    s->pos += n;
    s->last_sent_ms = http_mono_ms();
    return (ssize_t)n;
}

static void stream_free(void *cls)
{
    http_stream *s = cls;
    pthread_mutex_lock(&s->h->mu);
    if (s->prev) s->prev->next_stream = s->next_stream;
    else s->h->streams = s->next_stream;
    if (s->next_stream) s->next_stream->prev = s->prev;
    pthread_mutex_unlock(&s->h->mu);
    free(s->buf);
    free(s);
}

void http_streams_resume(http_api *h)
{
    /* collected under mu, resumed without it (libmicrohttpd takes its own locks): a
     * suspended connection is never closed, so each stays valid until resumed here */
    enum { BATCH = 256 };
    struct MHD_Connection *resume[BATCH];
    for (;;) {
        uint32_t n = 0;
        for (http_stream *s = h->streams; s && n < BATCH; s = s->next_stream) {
            if (!s->suspended) continue;
            s->suspended = false;
            resume[n++] = s->c;
        }
        if (n == 0) return;
        pthread_mutex_unlock(&h->mu);
        for (uint32_t i = 0; i < n; i++) MHD_resume_connection(resume[i]);
        pthread_mutex_lock(&h->mu);
        if (n < BATCH) return;
    }
}

/* Where to start: Last-Event-ID "H.T.E" resumes after that event; else ?from=HEIGHT
 * (default 1). */
static bool start_point(struct MHD_Connection *c, http_stream *s)
{
    const char *last = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Last-Event-ID");
    s->after_height = 0;
    s->after_index = s->after_event = -1;
    if (last) {
        unsigned long long hh;
        unsigned ii, kk;
        char extra;
        if (sscanf(last, "%llu.%u.%u%c", &hh, &ii, &kk, &extra) != 3 || hh == 0) return false;
        s->next = hh;
        s->after_height = hh;
        s->after_index = ii;
        s->after_event = kk;
        return true;
    }
    const char *from = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "from");
    if (!from) {
        s->next = 1;
        return true;
    }
    char *end;
    unsigned long long v = strtoull(from, &end, 10);
    if (!*from || *end || v == 0 || from[0] == '-') return false;
    s->next = v;
    return true;
}

enum MHD_Result http_get_events(http_api *h, struct MHD_Connection *c, const http_request *rq)
{
    pubkey key;
    http_refusal no;
    if (!http_authenticate(h, c, "GET", rq, &key, &no))
        return http_error(h, c, no.status, no.code, "%s", no.reason);
    http_stream *s = calloc(1, sizeof *s);
    if (s) s->buf = malloc(STREAM_BUF_MAX);
    if (!s || !s->buf) {
        if (s) free(s);
        return http_error(h, c, 500, "INTERNAL", "out of memory");
    }
    if (!start_point(c, s)) {
        free(s->buf);
        free(s);
        return http_error(h, c, 400, "BAD_REQUEST", "Last-Event-ID is HEIGHT.TX.EVENT and from a height >= 1");
    }
    s->h = h;
    s->c = c;
    s->asker = key;
    s->last_sent_ms = http_mono_ms();
    struct MHD_Response *r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16 * 1024,
                                                               stream_read, s, stream_free);
    if (!r) {
        free(s->buf);
        free(s);
        return http_error(h, c, 500, "INTERNAL", "out of memory");
    }
    pthread_mutex_lock(&h->mu);
    s->next_stream = h->streams;
    if (h->streams) h->streams->prev = s;
    h->streams = s;
    pthread_mutex_unlock(&h->mu);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ok = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    http_count(h, 200);
    return ok;
}
