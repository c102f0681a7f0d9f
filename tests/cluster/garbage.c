/*
 * garbage.c - a misbehaving stranger for the multi-process tests.
 *
 *   garbage peer URL     push garbage at a validator's peer listener: random bytes,
 *                        truncated and oversized messages, a PBFT COMMIT with a forged
 *                        signature, a FETCH for absurd heights
 *   garbage client URL   req/rep garbage at a client API: random requests (each must
 *                        be answered), a request far over the message bound
 *   garbage hold PORT IDLE HALF SECONDS once|refill
 *                        hold IDLE connections that finished the SP handshake (as a req0
 *                        peer) but never send a request, and HALF that connected and never
 *                        send a byte, to 127.0.0.1:PORT for SECONDS (refill: opening a new
 *                        one for each the node closes, every 100 ms); prints the counts
 *   garbage resubmit URL EXPORT COUNT [FROM]
 *                        send again the first COUNT txs that the ledger export EXPORT
 *                        holds (already committed): to a client API (a client's late
 *                        retry; prints how many were accepted), or with FROM to a peer
 *                        listener as TXS forwards from validator FROM (a late forward:
 *                        these skip the client API's replay check at submit)
 *   garbage corrupt DIR H  flip one byte in the middle of the stored block record at
 *                        height H of the (stopped) ledger in DIR, through LevelDB, so
 *                        its checksums hold and only the ledger's own checks can tell
 *
 * Exit 0 when everything was sent (and, for the client API, each random request got
 * an answer); the test then checks that the consortium still commits.
 */
#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>
#include <nng/protocol/pipeline0/push.h>
#include <nng/protocol/reqrep0/req.h>
#include <leveldb/c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include "codec.h"
#include "transport.h"
#include "wire.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint8_t next_byte(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint8_t)rng;
}

static void fill(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = next_byte();
}

static int peer(const char *url)
{
    nng_socket s;
    if (nng_push0_open(&s) != 0 || nng_dial(s, url, NULL, 0) != 0) {
        fprintf(stderr, "garbage: cannot dial %s\n", url);
        return 1;
    }
    nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, 1000);
    static uint8_t buf[1 << 20];
    for (int i = 0; i < 200; i++) {
        size_t n = 1 + next_byte() % 200;
        fill(buf, n);
        nng_send(s, buf, n, 0);
    }
    /* a well-formed COMMIT from validator 1 with a forged signature */
    pbft_msg m = {.type = PBFT_MSG_COMMIT, .from = 1, .view = 0, .height = 1};
    fill(m.digest.bytes, 32);
    fill(m.sig.bytes, 64);
    codec_buf b = codec_buf_make(buf, sizeof buf);
    if (wire_pbft_encode(1, &m, NULL, 0, &b) == CODEC_OK) {
        nng_send(s, buf, b.len, 0);
        nng_send(s, buf, b.len / 2, 0); /* truncated */
    }
    b = codec_buf_make(buf, sizeof buf);
    if (wire_fetch_encode(2, 1, UINT64_MAX / 2, &b) == CODEC_OK)
        nng_send(s, buf, b.len, 0);
    uint8_t *big = calloc(1, 16u << 20); /* over the 4 MiB bound */
    if (big) {
        nng_send(s, big, 16u << 20, 0);
        free(big);
    }
    nng_msleep(300);
    nng_close(s);
    return 0;
}

static int client(const char *url)
{
    nng_socket s;
    if (nng_req0_open(&s) != 0 || nng_dial(s, url, NULL, 0) != 0) {
        fprintf(stderr, "garbage: cannot dial %s\n", url);
        return 1;
    }
    nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, 2000);
    nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 2000);
    uint8_t buf[512];
    int answered = 0;
    for (int i = 0; i < 100; i++) {
        size_t n = 1 + next_byte() % sizeof buf;
        fill(buf, n);
        void *reply = NULL;
        size_t len = 0;
        if (nng_send(s, buf, n, 0) == 0 && nng_recv(s, &reply, &len, NNG_FLAG_ALLOC) == 0) {
            answered++;
            nng_free(reply, len);
        }
    }
    printf("garbage: %d of 100 random client requests answered\n", answered);
    /* far over the bound: the server drops it; we do not wait for an answer, and exit
     * without closing (closing a req socket after a cut-off send can hang in nng 1.5.2) */
    uint8_t *big = calloc(1, 16u << 20);
    if (big)
        nng_send(s, big, 16u << 20, NNG_FLAG_NONBLOCK);
    return answered == 100 ? 0 : 1;
}

static int corrupt(const char *dir, uint64_t height)
{
    uint8_t key[9] = {'b'};
    for (int i = 0; i < 8; i++)
        key[1 + i] = (uint8_t)(height >> (56 - 8 * i));
    char *err = NULL;
    leveldb_options_t *o = leveldb_options_create();
    leveldb_t *db = leveldb_open(o, dir, &err);
    if (err) {
        fprintf(stderr, "garbage: %s: %s\n", dir, err);
        return 1;
    }
    leveldb_readoptions_t *r = leveldb_readoptions_create();
    leveldb_writeoptions_t *w = leveldb_writeoptions_create();
    size_t len = 0;
    char *value = leveldb_get(db, r, (char *)key, sizeof key, &len, &err);
    int rc = 1;
    if (value && len > 0) {
        value[len / 2] ^= 0x01;
        leveldb_put(db, w, (char *)key, sizeof key, value, len, &err);
        rc = err ? 1 : 0;
    }
    leveldb_free(value);
    leveldb_readoptions_destroy(r);
    leveldb_writeoptions_destroy(w);
    leveldb_close(db);
    leveldb_options_destroy(o);
    return rc;
}

/* One connection to 127.0.0.1:port; with the SP header of a req0 peer if handshake. */
static int hold_one(int port, bool handshake)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    static const uint8_t sp_req0[8] = {0, 'S', 'P', 0, 0, 0x30, 0, 0};
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0
        || (handshake && write(fd, sp_req0, sizeof sp_req0) != sizeof sp_req0)) {
        close(fd);
        return -1;
    }
    return fd;
}

#define HOLD_MAX 8192

static volatile sig_atomic_t hold_stop;
static void hold_on_term(int sig)
{
    (void)sig;
    hold_stop = 1;
}

/* Close the connections the node closed (or answered: only its SP header is expected). */
static void hold_reap(struct pollfd *p, int n, long *closed)
{
    if (poll(p, (nfds_t)n, 0) <= 0) return;
    for (int i = 0; i < n; i++) {
        if (p[i].fd < 0 || !p[i].revents) continue;
        uint8_t buf[64];
        ssize_t got = (p[i].revents & POLLIN) ? read(p[i].fd, buf, sizeof buf) : 0;
        if (got > 0) continue;
        close(p[i].fd);
        p[i].fd = -1;
        (*closed)++;
    }
}

static int hold(int port, int idle, int half, int seconds, bool refill)
{
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) == 0) {
        r.rlim_cur = r.rlim_max;
        setrlimit(RLIMIT_NOFILE, &r);
    }
    int n = idle + half;
    if (n > HOLD_MAX) n = HOLD_MAX;
    static struct pollfd p[HOLD_MAX];
    for (int i = 0; i < n; i++) p[i] = (struct pollfd){.fd = -1, .events = POLLIN};
    long opened = 0, closed = 0;
    bool first = true;
    time_t end = time(NULL) + seconds;
    signal(SIGTERM, hold_on_term);
    while (time(NULL) < end && !hold_stop) {
        for (int i = 0; i < n && (refill || first); i++) {
            if (p[i].fd >= 0) continue;
            p[i].fd = hold_one(port, i < idle);
            opened += p[i].fd >= 0;
        }
        first = false;
        struct timespec t = {0, 100 * 1000000L};
        nanosleep(&t, NULL);
        hold_reap(p, n, &closed);
    }
    printf("held %d connections (%d idle, %d half-open): opened %ld, closed by the node %ld\n",
           n, idle, half, opened, closed);
    fflush(stdout);
    return 0;
}

/* ---- resubmit: committed txs sent again ---------------------------------------------- */

/* msgpack bin header (the shortest form) into p; returns its length. */
static size_t bin_header(uint8_t *p, size_t n)
{
    if (n < 256) { p[0] = 0xc4; p[1] = (uint8_t)n; return 2; }
    if (n < 65536) { p[0] = 0xc5; p[1] = (uint8_t)(n >> 8); p[2] = (uint8_t)n; return 3; }
    p[0] = 0xc6;
    for (int i = 0; i < 4; i++) p[1 + i] = (uint8_t)(n >> (24 - 8 * i));
    return 5;
}

/* Submit txs[0..count) as one SUBMIT_BATCH (13.6); *accepted += the ones answered 0. */
static int submit_batch(tp_client *c, const codec_span *txs, uint32_t count, long *accepted)
{
    size_t body_len = 3;
    for (uint32_t i = 0; i < count; i++) body_len += 5 + txs[i].len;
    uint8_t *req = malloc(body_len + 16), *body = malloc(body_len);
    size_t b = 0;
    body[b++] = 0xdc; body[b++] = (uint8_t)(count >> 8); body[b++] = (uint8_t)count;
    for (uint32_t i = 0; i < count; i++) {
        b += bin_header(body + b, txs[i].len);
        memcpy(body + b, txs[i].data, txs[i].len);
        b += txs[i].len;
    }
    size_t r = 0;
    req[r++] = 0x92;
    req[r++] = 5; /* SUBMIT_BATCH */
    r += bin_header(req + r, b);
    memcpy(req + r, body, b);
    r += b;
    uint8_t *reply = NULL;
    size_t reply_len = 0;
    tp_err rc = tp_client_request(c, req, r, 10000, &reply, &reply_len);
    free(req);
    free(body);
    if (rc != TP_OK) return -1;
    /* [0, "ok", bin([[status, reason], ...])]: count the [0, ""] pairs (0x92 0x00 0xa0) */
    for (size_t i = 0; i + 2 < reply_len; i++)
        if (reply[i] == 0x92 && reply[i + 1] == 0x00 && reply[i + 2] == 0xa0) (*accepted)++;
    tp_free(reply, reply_len);
    return 0;
}

/* Forward txs[0..count) as one TXS message (FORMATS 14.3) from validator from. */
static int forward_txs(nng_socket s, uint32_t from, const codec_span *txs, uint32_t count)
{
    static uint8_t buf[16u << 20];
    codec_buf b = codec_buf_make(buf, sizeof buf);
    if (wire_txs_encode(from, txs, count, &b) != CODEC_OK || b.overflow) return -1;
    return nng_send(s, buf, b.len, 0) == 0 ? 0 : -1;
}

static int resubmit(const char *url, const char *path, long count, int from)
{
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); return 1; }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *data = malloc((size_t)size);
    if (fread(data, 1, (size_t)size, f) != (size_t)size) { fclose(f); return 1; }
    fclose(f);
    codec_export_header h;
    codec_error ce;
    size_t off = 0, used;
    if (codec_export_header_decode(data, (size_t)size, &h, &used, &ce) != CODEC_OK) {
        fprintf(stderr, "%s: not an export\n", path);
        return 1;
    }
    off = used;
    tp_client *c = NULL;
    nng_socket peer_sock;
    char why[256];
    if (from >= 0) {
        if (nng_push0_open(&peer_sock) != 0 || nng_dial(peer_sock, url, NULL, 0) != 0) {
            fprintf(stderr, "garbage: cannot dial %s\n", url);
            return 1;
        }
        nng_socket_set_ms(peer_sock, NNG_OPT_SENDTIMEO, 5000);
    } else if (tp_client_open(url, 16u << 20, &c, why, sizeof why) != TP_OK) {
        fprintf(stderr, "%s\n", why);
        return 1;
    }
    const uint32_t per = from >= 0 ? 256 : 1024;
    static codec_span txs[4096], receipts[4096], batch[1024];
    static codec_write writes[65536];
    long sent = 0, accepted = 0;
    uint32_t n = 0;
    for (uint64_t k = 0; k < h.block_count && sent < count; k++) {
        codec_span block, cert;
        if (codec_export_entry_decode(data + off, (size_t)size - off, &block, &cert, &used, &ce)
            != CODEC_OK) break;
        off += used;
        codec_block bl = {.txs = txs, .receipts = receipts, .writes = writes};
        if (codec_block_decode(block.data, block.len, &bl, 4096, 65536, &ce) != CODEC_OK) break;
        for (uint32_t i = 0; i < bl.tx_count && sent < count; i++, sent++) {
            if (codec_entry_is_pruned(&bl.txs[i])) continue;
            batch[n++] = bl.txs[i];
            if (n == per) {
                int rc = from >= 0 ? forward_txs(peer_sock, (uint32_t)from, batch, n)
                                   : submit_batch(c, batch, n, &accepted);
                if (rc != 0) return 1;
                n = 0;
            }
        }
    }
    if (n && (from >= 0 ? forward_txs(peer_sock, (uint32_t)from, batch, n)
                        : submit_batch(c, batch, n, &accepted)) != 0)
        return 1;
    if (from >= 0) {
        nng_msleep(500); /* let the queue drain before closing */
        nng_close(peer_sock);
        printf("forwarded %ld committed txs as from validator %d\n", sent, from);
        return 0;
    }
    tp_client_close(c);
    printf("resubmitted %ld committed txs: %ld accepted for checking\n", sent, accepted);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "corrupt") == 0)
        return corrupt(argv[2], strtoull(argv[3], NULL, 10));
    if (argc == 7 && strcmp(argv[1], "hold") == 0)
        return hold(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]), atoi(argv[5]),
                    strcmp(argv[6], "refill") == 0);
    if ((argc == 5 || argc == 6) && strcmp(argv[1], "resubmit") == 0)
        return resubmit(argv[2], argv[3], atol(argv[4]), argc == 6 ? atoi(argv[5]) : -1);
    if (argc == 3 && strcmp(argv[1], "peer") == 0)
        return peer(argv[2]);
    if (argc == 3 && strcmp(argv[1], "client") == 0)
        _exit(client(argv[2]));
    fprintf(stderr, "usage: garbage peer|client URL | garbage hold PORT IDLE HALF SECONDS once|refill | "
                    "garbage corrupt DIR HEIGHT | garbage resubmit URL EXPORT COUNT [FROM]\n");
    return 2;
}
