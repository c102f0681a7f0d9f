/*
 * trialreg_client.c - the client library: submitting, waiting for receipts, signed queries,
 * fetching blocks (see trialreg_client.h).
 */
#include "trialreg_client.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "transport.h"

#ifndef TRIALREG_VERSION /* set by CMake from the project version */
#define TRIALREG_VERSION "unknown"
#endif

#define POLL_MIN_MS 5
#define POLL_MAX_MS 100

const char *trialreg_client_version(void)
{
    return TRIALREG_VERSION;
}

uint64_t client_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(uint64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

__attribute__((format(printf, 3, 4))) static void say(char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
}

/* ---- one request ------------------------------------------------------------------------ */

#define NOT_YET_COMMITTED "no receipt before the timeout (not yet committed: the tx may still commit; ask for its receipt again)"

/* Send kind+body, wait until deadline (monotonic ms). Returns 0 with the decoded response
 * (body pointing into *reply, which the caller frees with tp_free), -1 with why if the node
 * did not answer in time or the reply does not decode. */
static int request(tp_client *c, uint32_t kind, const void *body, size_t len, uint64_t deadline,
                   codec_client_response *resp, uint8_t **reply, size_t *reply_len, char *why,
                   size_t why_cap)
{
    uint8_t *req = malloc(len + 64);
    codec_buf b = codec_buf_make(req, req ? len + 64 : 0);
    if (!req || codec_client_request_encode(kind, body, len, &b) != CODEC_OK) {
        free(req);
        say(why, why_cap, "request does not encode");
        return -1;
    }
    uint64_t now = mono_ms();
    int wait = deadline > now ? (int)(deadline - now) : 1;
    tp_err rc = tp_client_request(c, b.data, b.len, wait, reply, reply_len);
    free(req);
    if (rc != TP_OK) {
        say(why, why_cap, "no answer from the node (%s)", tp_strerror(rc));
        return -1;
    }
    if (codec_client_response_decode(*reply, *reply_len, resp, NULL) != CODEC_OK) {
        tp_free(*reply, *reply_len);
        *reply = NULL;
        say(why, why_cap, "the node's reply does not decode");
        return -1;
    }
    return 0;
}

/* Dial url. A tls+tcp:// URL needs the consortium CA: the file named by the environment
 * variable TRIALREG_TLS_CA (trialctl init --tls writes DIR/tls/ca.pem); the server's
 * certificate must chain to it. Clients present no certificate: they sign their requests. */
int client_open(const char *url, tp_client **c, char *why, size_t why_cap)
{
    char text[1300];
    const char *ca = getenv("TRIALREG_TLS_CA");
    tp_tls tls = {.cert_key_file = NULL, .ca_file = ca};
    bool use_tls = strncmp(url, TP_TLS_SCHEME, strlen(TP_TLS_SCHEME)) == 0;
    if (use_tls && (!ca || !ca[0])) {
        say(why, why_cap, "%s is a TLS URL: set TRIALREG_TLS_CA to the consortium CA file "
                          "(trialctl init --tls: DIR/tls/ca.pem)", url);
        return -1;
    }
    if (tp_client_open_tls(url, use_tls ? &tls : NULL, CLIENT_MESSAGE_MAX, c, text,
                           sizeof text) != TP_OK) {
        say(why, why_cap, "%s", text);
        return -1;
    }
    return 0;
}

void client_close(tp_client *c)
{
    tp_client_close(c);
}

/* ---- submit and wait -------------------------------------------------------------------- */

typedef struct {
    const client_options *opt;
    const codec_span *txs;
    client_result *results;
    uint32_t count, first, stride;
    uint64_t deadline;
} worker;

static void set_state(client_result *r, client_tx_state s, const char *reason)
{
    r->state = s;
    snprintf(r->reason, sizeof r->reason, "%.200s", reason);
}

/* Submit txs idx[0..count) in one SUBMIT_BATCH request and record each refusal. */
static void submit_batch(tp_client *c, const worker *w, const uint32_t *idx, uint32_t count)
{
    static _Thread_local codec_span spans[CLIENT_BATCH_TXS];
    static _Thread_local codec_submit_result res[CLIENT_BATCH_TXS];
    size_t bytes = 16;
    for (uint32_t k = 0; k < count; k++) {
        spans[k] = w->txs[idx[k]];
        bytes += spans[k].len + 8;
    }
    uint8_t *body = malloc(bytes), *reply = NULL;
    codec_buf b = codec_buf_make(body, body ? bytes : 0);
    codec_client_response resp;
    size_t len = 0;
    uint32_t n = 0;
    char why[200] = "the batch does not encode";
    bool sent = body && codec_submit_batch_encode(spans, count, &b) == CODEC_OK &&
                request(c, CLIENT_SUBMIT_BATCH, b.data, b.len, w->deadline, &resp, &reply, &len,
                        why, sizeof why) == 0;
    free(body);
    if (sent && resp.status == CAPI_OK &&
        (codec_submit_results_decode(resp.body.data, resp.body.len, res, CLIENT_BATCH_TXS, &n,
                                     NULL) != CODEC_OK || n != count))
        snprintf(why, sizeof why, "the node's submit results do not decode");
    for (uint32_t k = 0; k < count; k++) {
        client_result *r = &w->results[idx[k]];
        if (!sent || (resp.status == CAPI_OK && n != count)) {
            set_state(r, CLIENT_TX_TIMEOUT, why);
        } else if (resp.status != CAPI_OK || res[k].status != CAPI_OK) {
            r->state = CLIENT_TX_REFUSED;
            snprintf(r->reason, sizeof r->reason, "the node refused the tx (%u): %s",
                     resp.status != CAPI_OK ? resp.status : res[k].status,
                     resp.status != CAPI_OK ? resp.reason : res[k].reason);
        }
    }
    if (reply) tp_free(reply, len);
}

/* Record what the node said of tx i's receipt (status, reason, the receipt reply body).
 * Returns true when it is settled (certified receipt or a failure that polling will not
 * cure). */
static bool settle(client_result *r, uint32_t status, const char *reason, const codec_span *body)
{
    if (status == CAPI_OK) {
        uint8_t *copy = malloc(body->len ? body->len : 1);
        if (copy) memcpy(copy, body->data, body->len);
        if (!copy || codec_receipt_reply_decode(copy, body->len, &r->rr, NULL) != CODEC_OK
            || codec_receipt_decode(r->rr.receipt.data, r->rr.receipt.len, &r->receipt, NULL)
                   != CODEC_OK) {
            free(copy);
            set_state(r, CLIENT_TX_BAD_REPLY, "the node's receipt does not decode");
            return true;
        }
        free(r->reply);
        r->reply = copy;
        r->reply_len = body->len;
        if (r->rr.proof.len > 0) {
            set_state(r, CLIENT_TX_DONE, "");
            return true;
        }
        set_state(r, CLIENT_TX_TIMEOUT, "committed, but the block is not certified yet");
        return false;
    }
    if (status == CAPI_NOT_FOUND || status == CAPI_TOO_LARGE) { /* TOO_LARGE: next time */
        set_state(r, CLIENT_TX_TIMEOUT, NOT_YET_COMMITTED);
        return false;
    }
    snprintf(r->reason, sizeof r->reason, "receipt refused (%u): %.190s", status, reason);
    r->state = CLIENT_TX_BAD_REPLY;
    return true;
}

/* Ask once, in one RECEIPTS request (one signature), for the receipts of txs idx[0..count).
 * Returns how many are still open. */
static uint32_t poll_batch(tp_client *c, const worker *w, const uint32_t *idx, uint32_t count)
{
    static _Thread_local hash32 ids[CODEC_RECEIPTS_BATCH_MAX];
    static _Thread_local codec_receipts_entry e[CODEC_RECEIPTS_BATCH_MAX];
    static _Thread_local uint8_t body[CODEC_READ_BODY_MAX], sreq[CODEC_READ_BODY_MAX + 160];
    for (uint32_t k = 0; k < count; k++) ids[k] = w->results[idx[k]].tx_id;
    codec_buf b = codec_buf_make(body, sizeof body);
    size_t len = 0;
    char why[200] = "the receipts request does not encode";
    if (codec_receipts_request_encode(ids, count, &b) == CODEC_OK)
        len = w->opt->reader
                  ? client_signed_read(w->opt->reader, w->opt->chain, client_now_ms(),
                                       CLIENT_RECEIPTS, b.data, b.len, sreq, sizeof sreq)
                  : (memcpy(sreq, b.data, b.len), b.len); /* unsigned: the benchmark's A side */
    codec_client_response resp;
    uint8_t *reply = NULL;
    size_t reply_len = 0;
    uint32_t n = 0, open = 0;
    bool sent = len > 0 && request(c, CLIENT_RECEIPTS, sreq, len, w->deadline, &resp, &reply,
                                   &reply_len, why, sizeof why) == 0;
    if (sent && resp.status == CAPI_OK
        && (codec_receipts_reply_decode(resp.body.data, resp.body.len, e,
                                        CODEC_RECEIPTS_BATCH_MAX, &n, NULL) != CODEC_OK
            || n != count))
        snprintf(why, sizeof why, "the node's receipts reply does not decode"), n = 0;
    for (uint32_t k = 0; k < count; k++) {
        client_result *r = &w->results[idx[k]];
        if (!sent && mono_ms() >= w->deadline) {
            /* the client's time ran out during the poll: the tx is as after any other
             * unanswered poll, accepted and not yet seen committed (not a node failure) */
            set_state(r, CLIENT_TX_TIMEOUT, NOT_YET_COMMITTED);
        } else if (!sent) {
            set_state(r, CLIENT_TX_TIMEOUT, why);
            open++;
        } else if (resp.status != CAPI_OK) {
            open += !settle(r, resp.status, resp.reason, NULL);
        } else if (n != count) {
            set_state(r, CLIENT_TX_BAD_REPLY, why);
        } else {
            open += !settle(r, e[k].status, e[k].reason, &e[k].reply);
        }
    }
    if (reply) tp_free(reply, reply_len);
    return open;
}

/* One round of polling: every open tx of this worker, CODEC_RECEIPTS_BATCH_MAX per request.
 * Returns how many are still open. */
static uint32_t poll_round(tp_client *c, const worker *w)
{
    uint32_t idx[CODEC_RECEIPTS_BATCH_MAX], k = 0, open = 0;
    for (uint32_t i = w->first; i < w->count && mono_ms() < w->deadline; i += w->stride) {
        if (w->results[i].state != CLIENT_TX_TIMEOUT) continue; /* done or refused */
        idx[k++] = i;
        if (k == CODEC_RECEIPTS_BATCH_MAX) {
            open += poll_batch(c, w, idx, k);
            k = 0;
        }
    }
    if (k > 0) open += poll_batch(c, w, idx, k);
    return open;
}

static void *work(void *arg)
{
    const worker *w = arg;
    tp_client *c = NULL;
    char why[300];
    if (client_open(w->opt->url, &c, why, sizeof why) != 0) {
        for (uint32_t i = w->first; i < w->count; i += w->stride)
            set_state(&w->results[i], CLIENT_TX_TIMEOUT, why);
        return NULL;
    }
    uint32_t idx[CLIENT_BATCH_TXS], k = 0;
    for (uint32_t i = w->first; i < w->count && mono_ms() < w->deadline; i += w->stride) {
        idx[k++] = i;
        if (k == CLIENT_BATCH_TXS || i + w->stride >= w->count) {
            submit_batch(c, w, idx, k);
            k = 0;
        }
    }
    uint64_t pause = POLL_MIN_MS;
    for (;;) {
        uint32_t open = poll_round(c, w);
        if (open == 0 || mono_ms() >= w->deadline) break;
        uint64_t left = w->deadline - mono_ms();
        sleep_ms(pause < left ? pause : left);
        pause = pause * 2 > POLL_MAX_MS ? POLL_MAX_MS : pause * 2;
    }
    tp_client_close(c);
    return NULL;
}

uint32_t client_run(const client_options *opt, const codec_span *txs, uint32_t count,
                    client_result *results)
{
    uint32_t threads = opt->connections;
    if (threads < 1) threads = 1;
    if (threads > CLIENT_CONNECTIONS_MAX) threads = CLIENT_CONNECTIONS_MAX;
    if (threads > count) threads = count;
    for (uint32_t i = 0; i < count; i++) {
        memset(&results[i], 0, sizeof results[i]);
        tcrypto_sha256(txs[i].data, txs[i].len, &results[i].tx_id);
        set_state(&results[i], CLIENT_TX_TIMEOUT, "not sent");
    }
    worker w[CLIENT_CONNECTIONS_MAX];
    pthread_t tid[CLIENT_CONNECTIONS_MAX];
    bool started[CLIENT_CONNECTIONS_MAX] = {false};
    uint64_t deadline = mono_ms() + opt->timeout_ms;
    for (uint32_t t = 0; t < threads; t++) {
        w[t] = (worker){opt, txs, results, count, t, threads, deadline};
        started[t] = t > 0 && pthread_create(&tid[t], NULL, work, &w[t]) == 0;
    }
    for (uint32_t t = 1; t < threads; t++) {
        if (!started[t]) work(&w[t]); /* no thread: do its share here */
    }
    if (threads > 0) work(&w[0]);
    for (uint32_t t = 1; t < threads; t++) {
        if (started[t]) pthread_join(tid[t], NULL);
    }
    uint32_t done = 0;
    for (uint32_t i = 0; i < count; i++) done += results[i].state == CLIENT_TX_DONE;
    return done;
}

void client_result_free(client_result *r)
{
    free(r->reply);
    r->reply = NULL;
    r->reply_len = 0;
}

int client_fetch_receipt(const char *url, const keypair *key, const hash32 *chain,
                         const hash32 *tx_id, uint32_t timeout_ms, uint8_t **out,
                         size_t *out_len, char *why, size_t why_cap)
{
    uint8_t sreq[256];
    size_t slen = client_signed_read(key, chain, client_now_ms(), CLIENT_RECEIPT, tx_id->bytes,
                                     32, sreq, sizeof sreq);
    if (slen == 0) {
        say(why, why_cap, "the receipt request does not encode");
        return -1;
    }
    tp_client *c = NULL;
    if (client_open(url, &c, why, why_cap) != 0) return -1;
    codec_client_response resp;
    uint8_t *reply = NULL;
    size_t len = 0;
    int rc = -1;
    if (request(c, CLIENT_RECEIPT, sreq, slen, mono_ms() + timeout_ms, &resp, &reply,
                &len, why, why_cap) == 0) {
        if (resp.status == CAPI_OK) {
            *out = malloc(resp.body.len ? resp.body.len : 1);
            if (*out) {
                memcpy(*out, resp.body.data, resp.body.len);
                *out_len = resp.body.len;
                rc = 0;
            } else {
                say(why, why_cap, "out of memory");
            }
        } else if (resp.status == CAPI_NOT_FOUND) {
            say(why, why_cap, "%s", resp.reason);
            rc = 1;
        } else {
            say(why, why_cap, "receipt refused (%u): %s", resp.status, resp.reason);
            rc = 2;
        }
        tp_free(reply, len);
    }
    tp_client_close(c);
    return rc;
}

/* ---- signed queries and reads ------------------------------------------------------------ */

size_t client_signed_read(const keypair *key, const hash32 *chain, uint64_t time_ms,
                          uint32_t kind, const void *body, size_t len, uint8_t *out, size_t cap)
{
    static _Thread_local uint8_t part[CODEC_READ_BODY_MAX + 128];
    if (len > CODEC_READ_BODY_MAX) return 0;
    codec_signed_read s = {.asker = key->public_key, .time_ms = time_ms, .kind = kind,
                           .body = {body, len}};
    codec_buf b = codec_buf_make(part, sizeof part);
    if (codec_signed_read_body_encode(&s, &b) != CODEC_OK
        || tcrypto_sign(key, TCRYPTO_TAG_READ, chain, b.data, b.len, &s.sig) != TCRYPTO_OK)
        return 0;
    codec_buf o = codec_buf_make(out, cap);
    return codec_signed_read_encode(&s, &o) == CODEC_OK ? o.len : 0;
}

size_t client_query_request(const keypair *key, const hash32 *chain, uint64_t time_ms,
                            codec_query_kind kind, const codec_span *args, uint32_t arg_count,
                            uint8_t *out, size_t cap)
{
    if (arg_count > CODEC_QUERY_ARGS_MAX) return 0;
    codec_query q = {.asker = key->public_key, .time_ms = time_ms, .kind = kind,
                     .arg_count = arg_count};
    for (uint32_t i = 0; i < arg_count; i++) {
        if (args[i].len == 0 || args[i].len > CODEC_QUERY_ARG_MAX) return 0;
        q.args[i] = args[i];
    }
    uint8_t body[512], query[600];
    codec_buf b = codec_buf_make(body, sizeof body);
    if (codec_query_body_encode(&q, &b) != CODEC_OK) return 0;
    if (tcrypto_sign(key, TCRYPTO_TAG_QUERY, chain, b.data, b.len, &q.sig) != TCRYPTO_OK) return 0;
    codec_buf qb = codec_buf_make(query, sizeof query);
    if (codec_query_encode(&q, &qb) != CODEC_OK) return 0;
    codec_buf o = codec_buf_make(out, cap);
    if (codec_client_request_encode(CLIENT_QUERY, qb.data, qb.len, &o) != CODEC_OK) return 0;
    return o.len;
}

int client_query(const char *url, const keypair *key, const hash32 *chain,
                 codec_query_kind kind, const codec_span *args, uint32_t arg_count,
                 uint32_t timeout_ms, uint8_t **body, size_t *body_len, uint32_t *status,
                 char *why, size_t why_cap)
{
    uint8_t req[1024];
    size_t len = client_query_request(key, chain, client_now_ms(), kind, args, arg_count, req,
                                      sizeof req);
    codec_client_request cr; /* request() wraps the body again */
    *status = CAPI_INTERNAL;
    if (len == 0 || codec_client_request_decode(req, len, &cr, NULL) != CODEC_OK) {
        say(why, why_cap, "the query does not encode");
        return -1;
    }
    tp_client *c = NULL;
    if (client_open(url, &c, why, why_cap) != 0) return -1;
    codec_client_response resp;
    uint8_t *reply = NULL;
    size_t reply_len = 0;
    int rc = -1;
    if (request(c, CLIENT_QUERY, cr.body.data, cr.body.len, mono_ms() + timeout_ms, &resp, &reply,
                &reply_len, why, why_cap) == 0) {
        *status = resp.status;
        if (resp.status == CAPI_OK) {
            *body = malloc(resp.body.len ? resp.body.len : 1);
            if (*body) {
                if (resp.body.len) memcpy(*body, resp.body.data, resp.body.len);
                *body_len = resp.body.len;
                rc = 0;
            } else {
                say(why, why_cap, "out of memory");
            }
        } else {
            say(why, why_cap, "refused (%u): %s", resp.status, resp.reason);
            rc = 1;
        }
        tp_free(reply, reply_len);
    }
    tp_client_close(c);
    return rc;
}

int client_timeline(const char *url, const keypair *key, const hash32 *chain, const char *trial,
                    uint32_t timeout_ms, FILE *out, char *why, size_t why_cap)
{
    codec_span arg = {(const uint8_t *)trial, strlen(trial)};
    uint8_t *body = NULL;
    size_t len = 0;
    uint32_t status;
    int rc = client_query(url, key, chain, QUERY_TIMELINE, &arg, 1, timeout_ms, &body, &len,
                          &status, why, why_cap);
    if (rc != 0) return rc;
    rc = fwrite(body, 1, len, out) == len ? 0 : -1;
    if (rc) say(why, why_cap, "cannot write the timeline");
    free(body);
    return rc;
}

/* ---- export over BLOCKS ----------------------------------------------------------------- */

/* What an export has fetched so far. Once a block without a result certificate is met
 * (and the uncertified blocks are not wanted) nothing more is written: the later blocks
 * are only counted, so that the caller can say how many were left out. */
typedef struct {
    bool include_uncertified;
    bool stopped;
    client_export_counts counts;
} export_state;

/* Append the entries of one blocks reply to f (or count them as left out); *got = entries.
 * Returns 0 or -2. */
static int write_entries(FILE *f, const codec_span *body, export_state *st, uint32_t *got,
                         char *why, size_t why_cap)
{
    static codec_block_entry e[CODEC_BLOCKS_REPLY_MAX];
    if (codec_blocks_reply_decode(body->data, body->len, e, CODEC_BLOCKS_REPLY_MAX, got, NULL)
        != CODEC_OK) {
        say(why, why_cap, "the node's blocks reply does not decode");
        return -2;
    }
    for (uint32_t i = 0; i < *got; i++) {
        if (!st->include_uncertified && e[i].result_cert.len == 0) st->stopped = true;
        if (st->stopped) {
            st->counts.left_out++;
            continue;
        }
        size_t cap = e[i].block.len + e[i].result_cert.len + 64;
        uint8_t *buf = malloc(cap);
        codec_buf b = codec_buf_make(buf, cap);
        if (!buf || codec_export_entry_encode(&e[i].block, &e[i].result_cert, &b) != CODEC_OK
            || fwrite(b.data, 1, b.len, f) != b.len) {
            free(buf);
            say(why, why_cap, "cannot write an export entry");
            return -2;
        }
        free(buf);
        st->counts.blocks++;
    }
    return 0;
}

/* Fetch blocks 1.. into f until the node says there are no more; each request signed by
 * key (a validator, a regulator or the auditor role may read blocks). Deliberately simple:
 * the blocks after the first uncertified one are fetched too, only to count them (a tail is
 * normally a few blocks: those whose checkpoints had not completed). */
static int fetch_all(tp_client *c, const keypair *key, const hash32 *chain, FILE *f,
                     uint64_t deadline, export_state *st, char *why, size_t why_cap)
{
    for (;;) {
        uint64_t next = st->counts.blocks + st->counts.left_out + 1;
        uint8_t body[64], sreq[256];
        codec_buf b = codec_buf_make(body, sizeof body);
        codec_blocks_request_encode(next, CODEC_BLOCKS_REPLY_MAX, &b);
        size_t slen = client_signed_read(key, chain, client_now_ms(), CLIENT_BLOCKS, b.data,
                                         b.len, sreq, sizeof sreq);
        codec_client_response resp;
        uint8_t *reply = NULL;
        size_t len = 0;
        if (slen == 0) {
            say(why, why_cap, "the blocks request does not encode");
            return -2;
        }
        if (request(c, CLIENT_BLOCKS, sreq, slen, deadline, &resp, &reply, &len, why, why_cap))
            return -1;
        int rc = 0;
        uint32_t got = 0;
        if (resp.status == CAPI_NOT_FOUND) rc = 1;
        else if (resp.status != CAPI_OK) {
            say(why, why_cap, "blocks refused (%u): %s", resp.status, resp.reason);
            rc = -3;
        } else {
            rc = write_entries(f, &resp.body, st, &got, why, why_cap);
            if (rc == 0 && got == 0) rc = 1;
        }
        tp_free(reply, len);
        if (rc != 0) return rc > 0 ? 0 : rc;
    }
}

static int copy_with_header(FILE *entries, const hash32 *chain_id, uint64_t blocks,
                            const char *out_path, char *why, size_t why_cap)
{
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%.4200s.tmp.%ld", out_path, (long)getpid());
    FILE *out = fopen(tmp, "wb");
    if (!out) {
        say(why, why_cap, "cannot create %s: %s", tmp, strerror(errno));
        return -2;
    }
    uint8_t head[128], chunk[65536];
    codec_buf hb = codec_buf_make(head, sizeof head);
    codec_export_header h = {*chain_id, blocks};
    bool ok = codec_export_header_encode(&h, &hb) == CODEC_OK
              && fwrite(hb.data, 1, hb.len, out) == hb.len;
    rewind(entries);
    for (size_t n; ok && (n = fread(chunk, 1, sizeof chunk, entries)) > 0;)
        ok = fwrite(chunk, 1, n, out) == n;
    ok = fflush(out) == 0 && fsync(fileno(out)) == 0 && ok;
    ok = fclose(out) == 0 && ok;
    if (!ok || rename(tmp, out_path) != 0) {
        say(why, why_cap, "cannot write %s: %s", out_path, strerror(errno));
        unlink(tmp);
        return -2;
    }
    return 0;
}

int client_export(const char *url, const keypair *key, const hash32 *chain_id,
                  uint32_t timeout_ms, bool include_uncertified, const char *out_path,
                  client_export_counts *counts, char *why, size_t why_cap)
{
    export_state st = {.include_uncertified = include_uncertified};
    *counts = st.counts;
    tp_client *c = NULL;
    if (client_open(url, &c, why, why_cap) != 0) return -1;
    FILE *entries = tmpfile(); /* deliberately simple: the header needs the count first */
    int rc = -2;
    if (!entries) say(why, why_cap, "cannot create a temporary file: %s", strerror(errno));
    else rc = fetch_all(c, key, chain_id, entries, mono_ms() + timeout_ms, &st, why, why_cap);
    *counts = st.counts;
    if (rc == 0) rc = copy_with_header(entries, chain_id, st.counts.blocks, out_path, why, why_cap);
    if (entries) fclose(entries);
    tp_client_close(c);
    return rc;
}

/* ---- signing and nonces ------------------------------------------------------------------ */

size_t client_sign_tx(const keypair *signer, uint64_t nonce, uint64_t valid_until,
                      const hash32 *chain, const char *contract, const char *method,
                      const codec_value *args, uint32_t nargs, const keypair *const *cosigners,
                      const unsigned *meanings, uint32_t ncos, uint8_t *out, size_t cap)
{
    static _Thread_local codec_tx tx;
    static _Thread_local uint8_t body[CODEC_TX_MAX];
    if (nargs > CODEC_ARGS_MAX || ncos > CODEC_COSIGS_MAX) return 0;
    memset(&tx, 0, sizeof tx);
    tx.signer = signer->public_key;
    tx.nonce = nonce;
    tx.valid_until = valid_until;
    snprintf(tx.contract.text, sizeof tx.contract.text, "%s", contract);
    snprintf(tx.method.text, sizeof tx.method.text, "%s", method);
    tx.arg_count = nargs;
    if (nargs) memcpy(tx.args, args, nargs * sizeof *args);
    codec_buf b = codec_buf_make(body, sizeof body);
    if (codec_tx_body_encode(&tx, &b) != CODEC_OK) return 0;
    if (tcrypto_sign(signer, TCRYPTO_TAG_TX, chain, b.data, b.len, &tx.sig) != TCRYPTO_OK) return 0;
    hash32 body_hash;
    tcrypto_sha256(b.data, b.len, &body_hash);
    for (uint32_t i = 0; i < ncos; i++) {
        uint8_t cbody[160];
        codec_buf cb = codec_buf_make(cbody, sizeof cbody);
        codec_cosig *c = &tx.cosigs[tx.cosig_count++];
        c->key = cosigners[i]->public_key;
        c->meaning = (uint8_t)meanings[i];
        if (codec_cosig_body_encode(&body_hash, meanings[i], &c->key, &cb) != CODEC_OK
            || tcrypto_sign(cosigners[i], TCRYPTO_TAG_COSIG, chain, cb.data, cb.len, &c->sig)
                   != TCRYPTO_OK) {
            return 0;
        }
    }
    codec_buf ob = codec_buf_make(out, cap);
    if (codec_tx_encode(&tx, &ob) != CODEC_OK) return 0;
    return ob.len;
}

uint64_t client_random_nonce(void)
{
    uint64_t nonce;
    tcrypto_random(&nonce, sizeof nonce);
    return nonce;
}

/* ---- the public history (issue 19 item 5): no key --------------------------------------- */

int client_public(const char *url, const char *trial, uint64_t from, uint32_t timeout_ms,
                  uint8_t **body, size_t *body_len, uint32_t *status, char *why, size_t why_cap)
{
    uint8_t inner[64];
    codec_buf b = codec_buf_make(inner, sizeof inner);
    *status = CAPI_INTERNAL;
    size_t tlen = strlen(trial);
    if (tlen < 1 || tlen > 32
        || codec_public_request_encode((const uint8_t *)trial, tlen, from, &b) != CODEC_OK) {
        say(why, why_cap, "a trial id is 1..32 bytes");
        return -1;
    }
    tp_client *c = NULL;
    if (client_open(url, &c, why, why_cap) != 0) return -1;
    codec_client_response resp;
    uint8_t *reply = NULL;
    size_t reply_len = 0;
    int rc = -1;
    if (request(c, CLIENT_PUBLIC, b.data, b.len, mono_ms() + timeout_ms, &resp, &reply, &reply_len,
                why, why_cap) == 0) {
        *status = resp.status;
        if (resp.status != CAPI_OK) {
            say(why, why_cap, "refused (%u): %s", resp.status, resp.reason);
            rc = 1;
        } else if ((*body = malloc(resp.body.len ? resp.body.len : 1)) == NULL) {
            say(why, why_cap, "out of memory");
        } else {
            if (resp.body.len) memcpy(*body, resp.body.data, resp.body.len);
            *body_len = resp.body.len;
            rc = 0;
        }
        tp_free(reply, reply_len);
    }
    tp_client_close(c);
    return rc;
}
