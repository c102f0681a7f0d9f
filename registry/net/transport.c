/*
 * transport.c - the only file of trialreg that includes nng.
 */
#include "transport.h"
#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pipeline0/pull.h>
#include <nng/protocol/pipeline0/push.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>

/* A listener behind its relay (the front door, below). */
typedef struct {
    nng_listener listener;
    bool listening;
    relay *relay;
} tp_door;

struct tp_net {
    nng_socket inbox;                 /* pull, listening */
    nng_socket outbox[TP_PEERS_MAX];  /* push, one dialer each */
    bool has_outbox[TP_PEERS_MAX];
    int outbox_pipes[TP_PEERS_MAX];   /* connections of each dialer (nng pipe events; atomic) */
    uint32_t peer_count;              /* grows with tp_add_peer (atomic: read by any thread) */
    size_t max_message_bytes;
    int recv_timeout_ms;              /* the value currently set on inbox */
    tp_door door;                     /* the inbox's listener behind its relay */
    tp_config cfg;                    /* the numbers as opened (no pointers kept): tp_add_peer */
    nng_tls_config *tls_client;       /* the dialers' TLS (a reference), NULL without TLS */
};

const char *tp_strerror(tp_err err)
{
    switch (err) {
    case TP_OK: return "ok";
    case TP_ERR_CONFIG: return "bad transport configuration";
    case TP_ERR_LISTEN: return "cannot listen";
    case TP_ERR_TOO_BIG: return "message too large";
    case TP_ERR_FULL: return "peer send queue full";
    case TP_ERR_TIMEOUT: return "timed out";
    case TP_ERR_CLOSED: return "transport closed";
    case TP_ERR_SYSTEM: return "network error";
    }
    return "unknown transport error";
}

static tp_err fail(char *why, size_t cap, tp_err code, const char *what, const char *url, int rv)
{
    snprintf(why, cap, "%s %s: %s", what, url ? url : "", rv ? nng_strerror(rv) : "");
    return code;
}

/* Apply the size and queue bounds shared by both socket kinds. */
static int bound_socket(nng_socket s, const tp_config *cfg)
{
    int rv = nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, cfg->max_message_bytes);
    if (rv == 0) rv = nng_socket_set_ms(s, NNG_OPT_RECONNMINT, cfg->reconnect_min_ms);
    if (rv == 0) rv = nng_socket_set_ms(s, NNG_OPT_RECONNMAXT, cfg->reconnect_max_ms);
    return rv;
}

/* ---- TLS ----------------------------------------------------------------------------- */

static bool is_tls_url(const char *url)
{
    return strncmp(url, TP_TLS_SCHEME, strlen(TP_TLS_SCHEME)) == 0;
}

/* The URL's scheme must agree with the presence of TLS settings; other schemes (and bogus
 * ones) are left to nng. */
static tp_err check_scheme(const char *url, const tp_tls *tls, char *why, size_t cap)
{
    if (tls && !is_tls_url(url)) {
        snprintf(why, cap, "%s: TLS is configured, so the URL must start with %s", url,
                 TP_TLS_SCHEME);
        return TP_ERR_CONFIG;
    }
    if (!tls && strncmp(url, "tls+", 4) == 0) {
        snprintf(why, cap, "%s: a TLS URL needs TLS settings (certificate or CA file)", url);
        return TP_ERR_CONFIG;
    }
    return TP_OK;
}

/* A TLS configuration (mode, auth) loaded with the files of tls that are set. On TP_OK the
 * caller owns *out and frees it with nng_tls_config_free (endpoints hold their own
 * reference). A file that cannot be read or parsed is TP_ERR_CONFIG naming the file. */
static tp_err tls_config(nng_tls_mode mode, nng_tls_auth_mode auth, const tp_tls *tls,
                         nng_tls_config **out, char *why, size_t cap)
{
    nng_tls_config *c = NULL;
    int rv = nng_tls_config_alloc(&c, mode);
    if (rv != 0) return fail(why, cap, TP_ERR_SYSTEM, "cannot set up TLS", NULL, rv);
    tp_err rc = TP_OK;
    if (tls->cert_key_file && (rv = nng_tls_config_cert_key_file(c, tls->cert_key_file, NULL))) {
        rc = fail(why, cap, TP_ERR_CONFIG, "cannot load a certificate and private key from",
                  tls->cert_key_file, rv);
    } else if (tls->ca_file && (rv = nng_tls_config_ca_file(c, tls->ca_file)) != 0) {
        rc = fail(why, cap, TP_ERR_CONFIG, "cannot load CA certificates from", tls->ca_file, rv);
    } else if ((rv = nng_tls_config_auth_mode(c, auth)) != 0) {
        rc = fail(why, cap, TP_ERR_SYSTEM, "cannot set the TLS authentication mode", NULL, rv);
    }
    if (rc != TP_OK) {
        nng_tls_config_free(c);
        return rc;
    }
    *out = c;
    return TP_OK;
}

/* nng_dial without blocking (the other end may come up later; nng redials), with the TLS
 * configuration set first when there is one. */
static int dial_to(nng_socket s, const char *url, nng_tls_config *tls)
{
    if (!tls) return nng_dial(s, url, NULL, NNG_FLAG_NONBLOCK);
    nng_dialer d;
    int rv = nng_dialer_create(&d, s, url);
    if (rv != 0) return rv;
    rv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, tls);
    if (rv == 0) rv = nng_dialer_start(d, NNG_FLAG_NONBLOCK);
    if (rv != 0) nng_dialer_close(d);
    return rv;
}

/* ---- the front door (issue 14 D) ------------------------------------------------------
 * Every accepted connection costs a file descriptor, and so does every file the node opens
 * (LevelDB's tables and logs, status.json). nng accepts before any hook of ours runs, so
 * each listener sits behind a relay (relay.h) that owns the public address and accepts only
 * within hard bounds; nng listens on a loopback port the relay forwards to. The bounds come
 * from RLIMIT_NOFILE at open: a reserve of an eighth (at least TP_FD_RESERVE_MIN) is never
 * given to connections; of the rest the client API may take three quarters and the peers a
 * tenth, at three descriptors per relayed connection. */
#define TP_FD_RESERVE_MIN 128  /* LevelDB's tables (64) and logs, state/status files, nng */
#define TP_FIRST_BYTES_MS 2000 /* a connection that sends nothing this long is half-open */
#define TP_CLIENT_IDLE_MS 10000
#define TP_PEER_IDLE_MS 60000
#define TP_CLIENT_CONNS_MAX 1024

/* The soft limit of open descriptors, clamped. */
static int fd_limit(void)
{
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) != 0 || r.rlim_cur == RLIM_INFINITY || r.rlim_cur > (1 << 20))
        return 1 << 20;
    return (int)r.rlim_cur;
}

/* Connections a listener may hold: share_percent of the descriptor budget, three
 * descriptors each, at least min and at most max. */
static int conns_for(int share_percent, int min, int max)
{
    int limit = fd_limit();
    int reserve = limit / 8 > TP_FD_RESERVE_MIN ? limit / 8 : TP_FD_RESERVE_MIN;
    int budget = limit - reserve > 0 ? limit - reserve : 0;
    int n = budget * share_percent / 100 / 3;
    return n < min ? min : n > max ? max : n;
}

/* nng listens on the loopback (with tls when set) and the relay on url, forwarding there. */
static tp_err door_open(tp_door *d, nng_socket s, const char *url, nng_tls_config *tls,
                        int conns_max, int per_address_max, int idle_ms, char *why, size_t cap)
{
    const char *inner = is_tls_url(url) ? TP_TLS_SCHEME "127.0.0.1:0" : "tcp://127.0.0.1:0";
    int rv = nng_listener_create(&d->listener, s, inner);
    if (rv != 0) return fail(why, cap, TP_ERR_LISTEN, "cannot listen on", inner, rv);
    if (tls) rv = nng_listener_set_ptr(d->listener, NNG_OPT_TLS_CONFIG, tls);
    if (rv == 0) rv = nng_listener_start(d->listener, 0);
    int port = 0;
    if (rv == 0) rv = nng_listener_get_int(d->listener, NNG_OPT_TCP_BOUND_PORT, &port);
    if (rv != 0) {
        nng_listener_close(d->listener);
        return fail(why, cap, TP_ERR_LISTEN, "cannot listen on", inner, rv);
    }
    d->listening = true;
    relay_config rc = {.listen_url = url, .upstream_port = port, .conns_max = conns_max,
                       .per_address_max = per_address_max, .first_bytes_ms = TP_FIRST_BYTES_MS,
                       .idle_ms = idle_ms};
    return relay_open(&rc, &d->relay, why, cap) == 0 ? TP_OK : TP_ERR_LISTEN;
}

/* Close the public side first (no newcomer reaches nng while its socket closes). */
static void door_close(tp_door *d)
{
    relay_close(d->relay);
    d->relay = NULL;
}

/* ---- peer mesh ------------------------------------------------------------------------ */

static tp_err open_inbox(tp_net *net, const tp_config *cfg, nng_tls_config *tls, char *why,
                         size_t cap)
{
    int rv = nng_pull0_open(&net->inbox);
    if (rv != 0) return fail(why, cap, TP_ERR_SYSTEM, "cannot open the inbox for", cfg->listen_url, rv);
    rv = bound_socket(net->inbox, cfg);
    if (rv == 0) rv = nng_socket_set_int(net->inbox, NNG_OPT_RECVBUF, cfg->recv_queue_messages);
    if (rv != 0) return fail(why, cap, TP_ERR_CONFIG, "bad options for", cfg->listen_url, rv);
    /* peers: a tenth of the descriptor budget (room for each peer's dialer twice while it
     * reconnects), no per-address bound (a local consortium shares one address) */
    int peers = conns_for(10, 2 * (int)cfg->peer_count + 2, TP_PEERS_MAX * 2);
    tp_err rc = door_open(&net->door, net->inbox, cfg->listen_url, tls, peers, peers,
                          TP_PEER_IDLE_MS, why, cap);
    if (rc != TP_OK) return rc;
    net->recv_timeout_ms = -2; /* unset */
    return TP_OK;
}

/* nng's pipe events of a dialer: a connection to its peer came (ADD_PRE, after which nng
 * reports every event of that pipe, so each is matched by one REM_POST) or went (REM_POST;
 * nng_close waits for these callbacks, so net outlives them). */
static void outbox_pipe_event(nng_pipe pipe, nng_pipe_ev ev, void *arg)
{
    (void)pipe;
    int *pipes = arg;
    __atomic_add_fetch(pipes, ev == NNG_PIPE_EV_ADD_PRE ? 1 : -1, __ATOMIC_RELAXED);
}

static tp_err open_outbox(tp_net *net, uint32_t peer, const tp_config *cfg,
                          nng_tls_config *tls, char *why, size_t cap)
{
    const char *url = cfg->peer_urls[peer];
    nng_socket *s = &net->outbox[peer];
    int rv = nng_push0_open(s);
    if (rv != 0) return fail(why, cap, TP_ERR_SYSTEM, "cannot open a socket for", url, rv);
    net->has_outbox[peer] = true;
    rv = bound_socket(*s, cfg);
    if (rv == 0) rv = nng_socket_set_int(*s, NNG_OPT_SENDBUF, cfg->send_queue_messages);
    if (rv == 0)
        rv = nng_pipe_notify(*s, NNG_PIPE_EV_ADD_PRE, outbox_pipe_event, &net->outbox_pipes[peer]);
    if (rv == 0)
        rv = nng_pipe_notify(*s, NNG_PIPE_EV_REM_POST, outbox_pipe_event, &net->outbox_pipes[peer]);
    if (rv != 0) return fail(why, cap, TP_ERR_CONFIG, "bad options for", url, rv);
    /* non-blocking: the peer may not be up yet; nng redials in the background */
    rv = dial_to(*s, url, tls);
    if (rv != 0) return fail(why, cap, TP_ERR_CONFIG, "cannot dial", url, rv);
    return TP_OK;
}

static bool config_valid(const tp_config *cfg, char *why, size_t cap)
{
    if (!cfg->listen_url || cfg->peer_count > TP_PEERS_MAX || cfg->max_message_bytes == 0
        || cfg->send_queue_messages <= 0 || cfg->recv_queue_messages <= 0
        || cfg->reconnect_min_ms <= 0 || cfg->reconnect_max_ms < cfg->reconnect_min_ms) {
        snprintf(why, cap, "transport configuration out of range");
        return false;
    }
    if (cfg->tls && (!cfg->tls->cert_key_file || !cfg->tls->ca_file)) {
        snprintf(why, cap, "TLS for the peer mesh needs both a certificate+key file and a CA file");
        return false;
    }
    if (check_scheme(cfg->listen_url, cfg->tls, why, cap) != TP_OK) return false;
    for (uint32_t p = 0; p < cfg->peer_count; p++) {
        if (cfg->peer_urls[p] && check_scheme(cfg->peer_urls[p], cfg->tls, why, cap) != TP_OK) {
            return false;
        }
    }
    return true;
}

/* Both TLS configurations of a mesh node (NULL, NULL without TLS): the listener's, which
 * requires a client certificate of the CA, and the dialers'. */
static tp_err mesh_tls(const tp_tls *tls, nng_tls_config **server, nng_tls_config **client,
                       char *why, size_t cap)
{
    *server = *client = NULL;
    if (!tls) return TP_OK;
    tp_err rc = tls_config(NNG_TLS_MODE_SERVER, NNG_TLS_AUTH_MODE_REQUIRED, tls, server, why, cap);
    if (rc == TP_OK) {
        rc = tls_config(NNG_TLS_MODE_CLIENT, NNG_TLS_AUTH_MODE_REQUIRED, tls, client, why, cap);
        if (rc != TP_OK) nng_tls_config_free(*server);
    }
    return rc;
}

tp_err tp_open(const tp_config *cfg, tp_net **out, char *why, size_t why_cap)
{
    if (!config_valid(cfg, why, why_cap)) return TP_ERR_CONFIG;
    tp_net *net = calloc(1, sizeof *net);
    if (!net) return fail(why, why_cap, TP_ERR_SYSTEM, "out of memory", NULL, 0);
    net->peer_count = cfg->peer_count;
    net->max_message_bytes = cfg->max_message_bytes;
    nng_tls_config *tls_server, *tls_client;
    tp_err rc = mesh_tls(cfg->tls, &tls_server, &tls_client, why, why_cap);
    if (rc != TP_OK) {
        free(net);
        return rc;
    }
    net->cfg = (tp_config){.max_message_bytes = cfg->max_message_bytes,
                           .send_queue_messages = cfg->send_queue_messages,
                           .recv_queue_messages = cfg->recv_queue_messages,
                           .reconnect_min_ms = cfg->reconnect_min_ms,
                           .reconnect_max_ms = cfg->reconnect_max_ms};
    net->tls_client = tls_client; /* kept for tp_add_peer, freed by tp_close */
    rc = open_inbox(net, cfg, tls_server, why, why_cap);
    for (uint32_t p = 0; rc == TP_OK && p < cfg->peer_count; p++) {
        if (cfg->peer_urls[p]) rc = open_outbox(net, p, cfg, tls_client, why, why_cap);
    }
    if (tls_server) nng_tls_config_free(tls_server); /* the endpoints hold their references */
    if (rc != TP_OK) {
        tp_close(net);
        return rc;
    }
    *out = net;
    return TP_OK;
}

void tp_close(tp_net *net)
{
    if (!net) return;
    for (uint32_t p = 0; p < TP_PEERS_MAX; p++) {
        if (net->has_outbox[p]) nng_close(net->outbox[p]);
    }
    if (net->door.relay) door_close(&net->door);
    nng_close(net->inbox);
    if (net->tls_client) nng_tls_config_free(net->tls_client);
    free(net);
}

tp_err tp_add_peer(tp_net *net, const char *url, uint32_t *peer, char *why, size_t why_cap)
{
    uint32_t p = net->peer_count;
    if (p == TP_PEERS_MAX) {
        snprintf(why, why_cap, "%s: no room for another peer (%d at most)", url, TP_PEERS_MAX);
        return TP_ERR_CONFIG;
    }
    tp_config cfg = net->cfg;
    cfg.peer_urls[p] = url;
    static const tp_tls any; /* check_scheme asks only whether TLS is on */
    tp_err rc = check_scheme(url, net->tls_client ? &any : NULL, why, why_cap);
    if (rc == TP_OK) rc = open_outbox(net, p, &cfg, net->tls_client, why, why_cap);
    if (rc != TP_OK) {
        if (net->has_outbox[p]) nng_close(net->outbox[p]);
        net->has_outbox[p] = false;
        return rc;
    }
    __atomic_store_n(&net->peer_count, p + 1, __ATOMIC_RELEASE);
    *peer = p;
    return TP_OK;
}

uint32_t tp_peer_connections(const tp_net *net)
{
    uint32_t connected = 0, count = __atomic_load_n(&net->peer_count, __ATOMIC_ACQUIRE);
    for (uint32_t p = 0; p < count; p++)
        connected += net->has_outbox[p]
                     && __atomic_load_n(&net->outbox_pipes[p], __ATOMIC_RELAXED) > 0;
    return connected;
}

tp_err tp_send(tp_net *net, uint32_t peer, const void *data, size_t len)
{
    if (peer >= net->peer_count || !net->has_outbox[peer]) return TP_ERR_CONFIG;
    if (len > net->max_message_bytes) return TP_ERR_TOO_BIG;
    int rv = nng_send(net->outbox[peer], (void *)data, len, NNG_FLAG_NONBLOCK);
    if (rv == 0) return TP_OK;
    if (rv == NNG_EAGAIN) return TP_ERR_FULL;
    return rv == NNG_ECLOSED ? TP_ERR_CLOSED : TP_ERR_SYSTEM;
}

tp_err tp_recv(tp_net *net, int timeout_ms, uint8_t **data, size_t *len)
{
    int flags = NNG_FLAG_ALLOC;
    if (timeout_ms <= 0) {
        flags |= NNG_FLAG_NONBLOCK;
    } else if (timeout_ms != net->recv_timeout_ms) {
        nng_socket_set_ms(net->inbox, NNG_OPT_RECVTIMEO, timeout_ms);
        net->recv_timeout_ms = timeout_ms;
    }
    nng_msg *msg = NULL;
    int rv = nng_recvmsg(net->inbox, &msg, flags & ~NNG_FLAG_ALLOC);
    if (rv == NNG_EAGAIN || rv == NNG_ETIMEDOUT) return TP_ERR_TIMEOUT;
    if (rv != 0) return rv == NNG_ECLOSED ? TP_ERR_CLOSED : TP_ERR_SYSTEM;
    size_t size = nng_msg_len(msg);
    uint8_t *buf = nng_alloc(size ? size : 1); /* what nng_recv's NNG_FLAG_ALLOC does too */
    if (!buf) {
        nng_msg_free(msg);
        return TP_ERR_SYSTEM;
    }
    memcpy(buf, nng_msg_body(msg), size);
    nng_msg_free(msg);
    *data = buf;
    *len = size;
    return TP_OK;
}

void tp_free(uint8_t *data, size_t len)
{
    if (data) nng_free(data, len);
}

/* ==== client API: rep server with contexts, req client ================== */

typedef enum { WORK_RECV, WORK_SEND } work_state;

/* One concurrent request slot: nng context, aio and a reply buffer of max bytes. */
typedef struct {
    tp_server *server;
    nng_ctx ctx;
    nng_aio *aio;
    work_state state;
    uint8_t *reply;
} tp_work;

struct tp_server {
    nng_socket sock;
    tp_handler handler;
    void *handler_ctx;
    size_t max_message_bytes;
    int work_count;
    tp_work work[TP_SERVER_CONTEXTS_MAX];
    tp_door door;    /* the listener behind its relay */
};

/* The request has arrived on w's aio: run the handler and start the reply (or, if the
 * handler sends nothing, go back to receiving). */
static void work_answer(tp_work *w)
{
    tp_server *s = w->server;
    nng_msg *msg = nng_aio_get_msg(w->aio);
    size_t len = s->handler(s->handler_ctx, nng_msg_body(msg), nng_msg_len(msg), w->reply,
                            s->max_message_bytes);
    if (len == 0 || len > s->max_message_bytes) {
        nng_msg_free(msg);
        nng_ctx_recv(w->ctx, w->aio);
        return;
    }
    nng_msg_clear(msg);
    if (nng_msg_append(msg, w->reply, len) != 0) {
        nng_msg_free(msg);
        nng_ctx_recv(w->ctx, w->aio);
        return;
    }
    nng_aio_set_msg(w->aio, msg);
    w->state = WORK_SEND;
    nng_ctx_send(w->ctx, w->aio);
}

static void work_callback(void *arg)
{
    tp_work *w = arg;
    int rv = nng_aio_result(w->aio);
    if (w->state == WORK_SEND) {
        if (rv != 0) nng_msg_free(nng_aio_get_msg(w->aio)); /* the reply was not taken */
        if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) return;
        w->state = WORK_RECV;
        nng_ctx_recv(w->ctx, w->aio);
        return;
    }
    if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) return;
    if (rv != 0) {
        nng_ctx_recv(w->ctx, w->aio);
        return;
    }
    work_answer(w);
}

/* The client API server's TLS configuration: our certificate; a client certificate is
 * optional and checked against ca_file when one is given. */
static tp_err server_tls(const char *url, const tp_tls *tls, nng_tls_config **out, char *why,
                         size_t cap)
{
    *out = NULL;
    tp_err rc = check_scheme(url, tls, why, cap);
    if (rc != TP_OK || !tls) return rc;
    if (!tls->cert_key_file) {
        snprintf(why, cap, "%s: a TLS server needs a certificate+key file", url);
        return TP_ERR_CONFIG;
    }
    nng_tls_auth_mode auth = tls->ca_file ? NNG_TLS_AUTH_MODE_OPTIONAL : NNG_TLS_AUTH_MODE_NONE;
    return tls_config(NNG_TLS_MODE_SERVER, auth, tls, out, why, cap);
}

tp_err tp_server_open(const char *url, tp_handler handler, void *ctx, int contexts,
                      size_t max_message_bytes, tp_server **out, char *why, size_t why_cap)
{
    return tp_server_open_tls(url, NULL, handler, ctx, contexts, max_message_bytes, out, why,
                              why_cap);
}

tp_err tp_server_open_tls(const char *url, const tp_tls *tls, tp_handler handler, void *ctx,
                          int contexts, size_t max_message_bytes, tp_server **out, char *why,
                          size_t why_cap)
{
    if (!url || !handler || contexts < 1 || contexts > TP_SERVER_CONTEXTS_MAX
        || max_message_bytes == 0) {
        snprintf(why, why_cap, "client API server configuration out of range");
        return TP_ERR_CONFIG;
    }
    nng_tls_config *tls_cfg = NULL;
    tp_err tls_rc = server_tls(url, tls, &tls_cfg, why, why_cap);
    if (tls_rc != TP_OK) return tls_rc;
    tp_server *s = calloc(1, sizeof *s);
    if (!s) {
        if (tls_cfg) nng_tls_config_free(tls_cfg);
        return fail(why, why_cap, TP_ERR_SYSTEM, "out of memory", NULL, 0);
    }
    s->handler = handler;
    s->handler_ctx = ctx;
    s->max_message_bytes = max_message_bytes;
    tp_err rc = TP_OK;
    int rv = nng_rep0_open(&s->sock);
    if (rv != 0) {
        if (tls_cfg) nng_tls_config_free(tls_cfg);
        free(s);
        return fail(why, why_cap, TP_ERR_SYSTEM, "cannot open the client API socket for", url, rv);
    }
    rv = nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ, max_message_bytes);
    if (rv != 0) rc = fail(why, why_cap, TP_ERR_CONFIG, "bad options for", url, rv);
    for (int i = 0; rc == TP_OK && i < contexts; i++) {
        tp_work *w = &s->work[i];
        w->server = s;
        w->reply = malloc(max_message_bytes);
        if (!w->reply) { rc = fail(why, why_cap, TP_ERR_SYSTEM, "out of memory for", url, 0); break; }
        rv = nng_aio_alloc(&w->aio, work_callback, w);
        if (rv == 0) rv = nng_ctx_open(&w->ctx, s->sock);
        if (rv != 0) { rc = fail(why, why_cap, TP_ERR_SYSTEM, "cannot open a context for", url, rv); break; }
        s->work_count = i + 1;
    }
    if (rc == TP_OK) {
        /* clients: half the descriptor budget, half of that per address */
        int conns = conns_for(75, 8, TP_CLIENT_CONNS_MAX);
        rc = door_open(&s->door, s->sock, url, tls_cfg, conns, conns * 3 / 4, TP_CLIENT_IDLE_MS,
                       why, why_cap);
    }
    if (tls_cfg) nng_tls_config_free(tls_cfg); /* the listener holds its reference */
    if (rc != TP_OK) {
        tp_server_close(s);
        return rc;
    }
    for (int i = 0; i < s->work_count; i++) {
        s->work[i].state = WORK_RECV;
        nng_ctx_recv(s->work[i].ctx, s->work[i].aio);
    }
    *out = s;
    return TP_OK;
}

void tp_server_close(tp_server *s)
{
    if (!s) return;
    if (s->door.relay) door_close(&s->door);
    nng_close(s->sock);
    for (int i = 0; i < TP_SERVER_CONTEXTS_MAX; i++) {
        tp_work *w = &s->work[i];
        if (w->aio) nng_aio_stop(w->aio); /* waits for a callback in progress */
    }
    for (int i = 0; i < TP_SERVER_CONTEXTS_MAX; i++) {
        tp_work *w = &s->work[i];
        if (w->aio) nng_aio_free(w->aio);
        free(w->reply);
    }
    free(s);
}

struct tp_client {
    nng_socket sock;
    size_t max_message_bytes;
};

tp_err tp_client_open(const char *url, size_t max_message_bytes, tp_client **out, char *why,
                      size_t why_cap)
{
    return tp_client_open_tls(url, NULL, max_message_bytes, out, why, why_cap);
}

/* The client's TLS configuration: the server's certificate must chain to ca_file; ours (if
 * any) is presented. */
static tp_err client_tls(const char *url, const tp_tls *tls, nng_tls_config **out, char *why,
                         size_t cap)
{
    *out = NULL;
    tp_err rc = check_scheme(url, tls, why, cap);
    if (rc != TP_OK || !tls) return rc;
    if (!tls->ca_file) {
        snprintf(why, cap, "%s: a TLS client needs a CA file", url);
        return TP_ERR_CONFIG;
    }
    return tls_config(NNG_TLS_MODE_CLIENT, NNG_TLS_AUTH_MODE_REQUIRED, tls, out, why, cap);
}

tp_err tp_client_open_tls(const char *url, const tp_tls *tls, size_t max_message_bytes,
                          tp_client **out, char *why, size_t why_cap)
{
    if (!url || max_message_bytes == 0) {
        snprintf(why, why_cap, "client configuration out of range");
        return TP_ERR_CONFIG;
    }
    nng_tls_config *tls_cfg = NULL;
    tp_err rc = client_tls(url, tls, &tls_cfg, why, why_cap);
    if (rc != TP_OK) return rc;
    tp_client *c = calloc(1, sizeof *c);
    int rv = c ? nng_req0_open(&c->sock) : NNG_ENOMEM;
    if (rv != 0) {
        if (tls_cfg) nng_tls_config_free(tls_cfg);
        free(c);
        return fail(why, why_cap, TP_ERR_SYSTEM, "cannot open a client socket for", url, rv);
    }
    c->max_message_bytes = max_message_bytes;
    rv = nng_socket_set_size(c->sock, NNG_OPT_RECVMAXSZ, max_message_bytes);
    if (rv == 0) rv = nng_socket_set_ms(c->sock, NNG_OPT_RECONNMINT, 20);
    if (rv == 0) rv = nng_socket_set_ms(c->sock, NNG_OPT_RECONNMAXT, 1000);
    if (rv == 0) rv = dial_to(c->sock, url, tls_cfg);
    if (tls_cfg) nng_tls_config_free(tls_cfg); /* the dialer holds its reference */
    if (rv != 0) {
        nng_close(c->sock);
        free(c);
        return fail(why, why_cap, TP_ERR_CONFIG, "cannot dial", url, rv);
    }
    *out = c;
    return TP_OK;
}

void tp_client_close(tp_client *c)
{
    if (!c) return;
    nng_close(c->sock);
    free(c);
}

tp_err tp_client_request(tp_client *c, const void *request, size_t request_len, int timeout_ms,
                         uint8_t **reply, size_t *reply_len)
{
    if (request_len > c->max_message_bytes) return TP_ERR_TOO_BIG;
    nng_socket_set_ms(c->sock, NNG_OPT_SENDTIMEO, timeout_ms);
    nng_socket_set_ms(c->sock, NNG_OPT_RECVTIMEO, timeout_ms);
    int rv = nng_send(c->sock, (void *)request, request_len, 0);
    if (rv == 0) {
        void *buf = NULL;
        size_t size = 0;
        rv = nng_recv(c->sock, &buf, &size, NNG_FLAG_ALLOC);
        if (rv == 0) {
            *reply = buf;
            *reply_len = size;
            return TP_OK;
        }
    }
    if (rv == NNG_ETIMEDOUT || rv == NNG_EAGAIN) return TP_ERR_TIMEOUT;
    return rv == NNG_ECLOSED ? TP_ERR_CLOSED : TP_ERR_SYSTEM;
}
