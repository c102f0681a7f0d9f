/*
 * http_export.c - GET /v1/export: the whole ledger as an export file (docs/FORMATS.md 6.1),
 * byte for byte what `trialctl export --url` writes and `trialctl audit` reads, streamed
 * (docs/HTTP.md "Export").
 *
 * The file's header carries its block count, so the count is settled before the body: the
 * head is found by probing BLOCKS (galloping from the node's status height, then halving),
 * and the last certified height by reading backwards from the head (the head alone, then
 * pages twice as long each time) until a block with a result certificate (the node keeps
 * nil certificates only for a contiguous tail of its newest blocks, docs/FORMATS.md 11:
 * normally the head itself is certified, one block read). The count is then
 * fixed: heights 1..certified (or 1..head with ?include_uncertified=true), and how many were
 * left out goes into response headers before the body (Trialreg-Left-Out and friends).
 *
 * Pull, not push (as http_events.c): libmicrohttpd's content-reader callback asks for
 * bytes; the stream then reads the next page of BLOCKS from the client API (as the signer,
 * so the role rules are BLOCKS's) and encodes one entry at a time. A stream holds one
 * BLOCKS reply and one encoded entry, never the chain: the reply buffer is
 * EXPORT_REPLY_FIRST (the node answers as many blocks of a page as fit), doubled only while
 * a single block does not fit, up to the client API's message bound; the client API
 * handler holds as much again while it answers. At most EXPORT_STREAMS_MAX exports run at
 * once (503 BUSY beyond).
 *
 * If the ledger does not give what the header promised (a block without a certificate in
 * the certified part, a height gone, the node failing), the stream ends with an error, so
 * the client sees a truncated transfer rather than a short file that claims to be whole.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_internal.h"

#define EXPORT_REPLY_FIRST (1u << 20)                      /* a page's reply, at first */
#define EXPORT_REPLY_MAX (CODEC_CLIENT_MESSAGE_MAX + 1024)  /* ... grown for a bigger block */
#define EXPORT_STREAMS_MAX 4
#define EXPORT_PROBES_MAX 256 /* head search: gallop and halve, ~2 log2(height) probes */

typedef struct {
    http_api *h;
    pubkey asker;
    bool include_uncertified;
    uint64_t next;          /* the next height to encode */
    uint64_t last;          /* the file's block_count: heights 1..last */
    uint8_t *reply;         /* one BLOCKS reply, reply_cap bytes */
    size_t reply_cap;       /* EXPORT_REPLY_FIRST, doubled while one block does not fit */
    codec_client_response resp;
    codec_block_entry page[CODEC_BLOCKS_REPLY_MAX];
    uint32_t page_count, page_pos;
    uint8_t *out;           /* the bytes being sent: the header, then one entry at a time */
    size_t out_cap, out_len, out_pos;
} export_stream;

/* Make the reply buffer twice as large (at most EXPORT_REPLY_MAX). false if it cannot. */
static bool grow_reply(export_stream *s)
{
    if (s->reply_cap >= EXPORT_REPLY_MAX) return false;
    size_t cap = s->reply_cap * 2 < EXPORT_REPLY_MAX ? s->reply_cap * 2 : EXPORT_REPLY_MAX;
    uint8_t *bigger = realloc(s->reply, cap);
    if (!bigger) return false;
    s->reply = bigger;
    s->reply_cap = cap;
    return true;
}

/* Ask BLOCKS [from, count] as the signer. The node answers the blocks that fit in the
 * reply buffer; if not even the first fits (TOO_LARGE), the buffer grows and the question
 * is asked again. 1: entries in s->page (page_count >= 1); 0: no block at from
 * (NOT_FOUND); -1: refused or failed (s->resp has the status, or CAPI_INTERNAL when the
 * node did not answer or the reply does not decode). */
static int ask_blocks(export_stream *s, uint64_t from, uint32_t count)
{
    uint8_t body[32];
    codec_buf b = codec_buf_make(body, sizeof body);
    s->page_count = s->page_pos = 0;
    bool answered = codec_blocks_request_encode(from, count, &b) == CODEC_OK;
    do {
        answered = answered && http_capi(s->h, &s->asker, CLIENT_BLOCKS, b.data, b.len, s->reply,
                                         s->reply_cap, &s->resp);
    } while (answered && s->resp.status == CAPI_TOO_LARGE && grow_reply(s));
    if (!answered) {
        s->resp = (codec_client_response){.status = CAPI_INTERNAL};
        snprintf(s->resp.reason, sizeof s->resp.reason, "the node did not answer BLOCKS");
        return -1;
    }
    if (s->resp.status == CAPI_NOT_FOUND) return 0;
    if (s->resp.status != CAPI_OK) return -1;
    if (codec_blocks_reply_decode(s->resp.body.data, s->resp.body.len, s->page,
                                  CODEC_BLOCKS_REPLY_MAX, &s->page_count, NULL) != CODEC_OK
        || s->page_count == 0) {
        s->resp.status = CAPI_INTERNAL;
        snprintf(s->resp.reason, sizeof s->resp.reason, "the node's blocks reply does not decode");
        return -1;
    }
    return 1;
}

/* The node's head: the highest height with a block (0: none). Gallops up from hint while
 * blocks exist, then halves the interval between the highest height found and the lowest
 * missing. false (s->resp says why) if the node refused or failed. */
static bool find_head(export_stream *s, uint64_t hint, uint64_t *head)
{
    uint64_t found = 0, missing = 0; /* missing == 0: no missing height known yet */
    uint64_t at = hint > 0 ? hint : 1, stride = 1;
    for (int probes = 0; probes < EXPORT_PROBES_MAX; probes++) {
        int r = ask_blocks(s, at, 1);
        if (r < 0) return false;
        if (r > 0) found = at;
        else missing = at;
        if (missing != 0 && missing - found <= 1) {
            *head = found;
            return true;
        }
        if (missing == 0) { /* still climbing */
            at = found + stride;
            stride = stride < (UINT64_MAX >> 2) ? stride * 2 : stride;
        } else {
            at = found + (missing - found) / 2;
        }
    }
    s->resp.status = CAPI_INTERNAL;
    snprintf(s->resp.reason, sizeof s->resp.reason, "the head was not found in %d probes",
             EXPORT_PROBES_MAX);
    return false;
}

/* The last height with a result certificate (0: none), reading pages backwards from head:
 * the head alone first (normally certified), then pages twice as long each time, up to a
 * full BLOCKS page. The node may answer fewer blocks than asked (its own maximum, the reply
 * bound): then the page size shrinks to what it answered and grows no more, so every page
 * read ends at the height looked for. */
static bool find_certified(export_stream *s, uint64_t head, uint64_t *certified)
{
    uint64_t top = head;
    uint32_t page = 1;
    bool capped = false;
    for (; top > 0; page = !capped && page < CODEC_BLOCKS_REPLY_MAX ? page * 2 : page) {
        uint64_t from = top >= page ? top - page + 1 : 1;
        int r = ask_blocks(s, from, (uint32_t)(top - from + 1));
        if (r <= 0) {
            if (r == 0) {
                s->resp.status = CAPI_INTERNAL;
                snprintf(s->resp.reason, sizeof s->resp.reason, "height %" PRIu64 " vanished", from);
            }
            return false;
        }
        if (from + s->page_count - 1 < top) { /* a short answer: ask again ending at top */
            page = s->page_count;
            capped = true;
            continue;
        }
        for (uint32_t i = s->page_count; i-- > 0;) {
            if (s->page[i].result_cert.len > 0) {
                *certified = from + i;
                return true;
            }
        }
        top = from - 1;
    }
    *certified = 0;
    return true;
}

/* Put the next entry's bytes into s->out (reading the next page when the last is used up).
 * false when the stream must end in error. */
static bool next_entry(export_stream *s)
{
    if (s->page_pos == s->page_count) {
        uint64_t left = s->last - s->next + 1;
        uint32_t count = left < CODEC_BLOCKS_REPLY_MAX ? (uint32_t)left : CODEC_BLOCKS_REPLY_MAX;
        if (ask_blocks(s, s->next, count) <= 0) return false;
    }
    const codec_block_entry *e = &s->page[s->page_pos++];
    if (e->result_cert.len == 0 && !s->include_uncertified) return false; /* not as promised */
    size_t need = e->block.len + e->result_cert.len + 16;
    if (need > s->out_cap) {
        uint8_t *bigger = realloc(s->out, need);
        if (!bigger) return false;
        s->out = bigger;
        s->out_cap = need;
    }
    codec_buf b = codec_buf_make(s->out, s->out_cap);
    if (codec_export_entry_encode(&e->block, &e->result_cert, &b) != CODEC_OK) return false;
    s->out_len = b.len;
    s->out_pos = 0;
    s->next++;
    return true;
}

static ssize_t export_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    export_stream *s = cls;
    if (s->out_pos == s->out_len) {
        if (s->next > s->last) return MHD_CONTENT_READER_END_OF_STREAM;
        if (!next_entry(s)) return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    size_t n = s->out_len - s->out_pos < max ? s->out_len - s->out_pos : max;
    memcpy(buf, s->out + s->out_pos, n);
    s->out_pos += n;
    return (ssize_t)n;
}

static void export_free(void *cls)
{
    export_stream *s = cls;
    __atomic_fetch_sub(&s->h->export_streams, 1, __ATOMIC_RELAXED);
    free(s->reply);
    free(s->out);
    free(s);
}

/* The status and error of a refused BLOCKS read, as the blocks read answers it. */
static enum MHD_Result refused(http_api *h, struct MHD_Connection *c, const codec_client_response *r)
{
    unsigned status = r->status == CAPI_DENIED                                   ? 403
                      : r->status == CAPI_BAD_SIGNATURE || r->status == CAPI_STALE ? 401
                      : r->status == CAPI_BAD_REQUEST || r->status == CAPI_BAD_BODY ? 400
                                                                                  : 500;
    return http_error(h, c, status, capi_status_name(r->status), "%s", r->reason);
}

/* ?include_uncertified=true|false (absent: false). */
static bool include_uncertified_of(struct MHD_Connection *c, bool *out)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "include_uncertified");
    *out = v && strcmp(v, "true") == 0;
    return !v || strcmp(v, "true") == 0 || strcmp(v, "false") == 0;
}

/* The stream's first bytes: the file header with its block count. */
static bool start_stream(export_stream *s, const hash32 *chain_id)
{
    s->out_cap = 128;
    s->out = malloc(s->out_cap);
    if (!s->out) return false;
    codec_buf b = codec_buf_make(s->out, s->out_cap);
    codec_export_header head = {*chain_id, s->last};
    if (codec_export_header_encode(&head, &b) != CODEC_OK) return false;
    s->out_len = b.len;
    s->out_pos = 0;
    s->next = 1;
    s->page_count = s->page_pos = 0;
    return true;
}

static enum MHD_Result queue_stream(http_api *h, struct MHD_Connection *c, export_stream *s,
                                    uint64_t head, uint64_t certified)
{
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, export_read, s, export_free);
    if (!r) {
        export_free(s);
        return http_error(h, c, 500, "INTERNAL", "out of memory");
    }
    char chain[17], value[160];
    tcrypto_to_hex(h->cfg.chain_id.bytes, 8, chain);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "application/octet-stream");
    snprintf(value, sizeof value, "attachment; filename=\"trialreg-%s-%" PRIu64 ".export\"", chain,
             s->last);
    MHD_add_response_header(r, "Content-Disposition", value);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    snprintf(value, sizeof value, "%" PRIu64, s->last);
    MHD_add_response_header(r, "Trialreg-Block-Count", value);
    snprintf(value, sizeof value, "%" PRIu64, certified);
    MHD_add_response_header(r, "Trialreg-Certified-Height", value);
    snprintf(value, sizeof value, "%" PRIu64, head);
    MHD_add_response_header(r, "Trialreg-Head-Height", value);
    snprintf(value, sizeof value, "%" PRIu64, head - s->last);
    MHD_add_response_header(r, "Trialreg-Left-Out", value);
    enum MHD_Result ok = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    http_count(h, 200);
    return ok;
}

enum MHD_Result http_get_export(http_api *h, struct MHD_Connection *c, const http_request *rq)
{
    bool include_uncertified;
    if (!include_uncertified_of(c, &include_uncertified))
        return http_error(h, c, 400, "BAD_REQUEST", "include_uncertified is true or false");
    pubkey key;
    http_refusal no;
    if (!http_authenticate(h, c, "GET", rq, &key, &no))
        return http_error(h, c, no.status, no.code, "%s", no.reason);
    if (__atomic_add_fetch(&h->export_streams, 1, __ATOMIC_RELAXED) > EXPORT_STREAMS_MAX) {
        __atomic_fetch_sub(&h->export_streams, 1, __ATOMIC_RELAXED);
        return http_error(h, c, 503, "BUSY", "%d exports are running: try again later",
                          EXPORT_STREAMS_MAX);
    }
    export_stream *s = calloc(1, sizeof *s);
    if (s) s->reply = malloc(s->reply_cap = EXPORT_REPLY_FIRST);
    if (!s || !s->reply) {
        __atomic_fetch_sub(&h->export_streams, 1, __ATOMIC_RELAXED);
        if (s) free(s);
        return http_error(h, c, 500, "INTERNAL", "out of memory");
    }
    s->h = h;
    s->asker = key;
    s->include_uncertified = include_uncertified;
    http_node_status st = {0};
    if (h->cfg.status) h->cfg.status(h->cfg.status_ctx, &st);
    uint64_t head = 0, certified = 0;
    if (!find_head(s, st.height, &head) || !find_certified(s, head, &certified)) {
        codec_client_response why = s->resp;
        export_free(s);
        return refused(h, c, &why);
    }
    s->last = include_uncertified ? head : certified;
    if (!start_stream(s, &h->cfg.chain_id)) {
        export_free(s);
        return http_error(h, c, 500, "INTERNAL", "out of memory");
    }
    return queue_stream(h, c, s, head, certified);
}
