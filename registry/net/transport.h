/*
 * transport.h - validator-to-validator messaging over nng (the only nng user).
 *
 * Each node has ONE listener (a pull socket on its own URL) into which every
 * peer pushes, and ONE dialer per peer (a push socket dialing that peer's
 * URL) with nng's automatic reconnect. Messages are opaque byte strings; the
 * transport does not say who sent one (at most, with TLS, that a consortium member
 * did): every consensus message is signed, and its signature names the sender (so a
 * peer's address may change freely).
 *
 * Bounds: a message larger than max_message_bytes is refused by the sender
 * and dropped by the receiver (nng closes the offending connection, which
 * then reconnects). Send queues hold send_queue_messages per peer; when a
 * peer is slow or down, tp_send fails with TP_ERR_FULL rather than blocking
 * (PBFT retransmits through its own timers and catch-up).
 *
 * URLs are nng URLs: tcp://127.0.0.1:7101, or tls+tcp://127.0.0.1:7101 with TLS
 * settings (tp_tls; nng on Debian is built with mbedTLS). The scheme and the settings must
 * agree: a tls+tcp:// URL without settings, or settings with a tcp:// URL, is TP_ERR_CONFIG.
 *
 * TLS (mutual, for the peer mesh): the listener presents this node's certificate and
 * REQUIRES a client certificate that chains to the consortium CA; every dialer presents the
 * same certificate and requires the listener's to chain to the CA. Host names are not
 * checked: a certificate of the consortium CA admits a member, and which validator it is
 * comes from the signatures on its messages, as without TLS. A stranger without such a
 * certificate cannot complete a handshake, so nothing it sends reaches tp_recv.
 */
#ifndef TRIALREG_TRANSPORT_H
#define TRIALREG_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#define TP_PEERS_MAX 64
#define TP_URL_MAX 256
#define TP_TLS_SCHEME "tls+tcp://"

typedef enum {
    TP_OK = 0,
    TP_ERR_CONFIG,   /* bad URL, peer index or option */
    TP_ERR_LISTEN,   /* cannot listen on the node's URL (in use, bad address) */
    TP_ERR_TOO_BIG,  /* message larger than max_message_bytes */
    TP_ERR_FULL,     /* the peer's send queue is full (slow or unreachable) */
    TP_ERR_TIMEOUT,  /* nothing received within the timeout */
    TP_ERR_CLOSED,
    TP_ERR_SYSTEM,   /* any other nng error (message has nng's text) */
} tp_err;

/* TLS settings: file paths (PEM), read when an endpoint opens. A bad or unreadable file is
 * TP_ERR_CONFIG, and why names the file. */
typedef struct {
    const char *cert_key_file; /* this end's certificate and its private key, one file */
    const char *ca_file;       /* the CA certificate(s) the other end's certificate must chain to */
} tp_tls;

typedef struct {
    const char *listen_url;                /* this node */
    uint32_t peer_count;                   /* entries in peer_urls */
    const char *peer_urls[TP_PEERS_MAX];   /* index = peer id; NULL for self */
    size_t max_message_bytes;              /* e.g. 4 MiB */
    int send_queue_messages;               /* per peer, e.g. 1024 */
    int recv_queue_messages;               /* e.g. 4096 */
    int reconnect_min_ms;                  /* e.g. 50 */
    int reconnect_max_ms;                  /* e.g. 2000 */
    const tp_tls *tls;                     /* NULL: plain TCP; else both files required */
} tp_config;

typedef struct tp_net tp_net;

const char *tp_strerror(tp_err err);

/* Listen on cfg->listen_url and start dialing every peer (in the background:
 * peers may come up later). On failure why names the URL and nng's reason. */
tp_err tp_open(const tp_config *cfg, tp_net **out, char *why, size_t why_cap);
void tp_close(tp_net *net);

/* Start dialing one more peer (a validator a governance change added): *peer is its index
 * for tp_send, the next after the last. Same thread as tp_send (the node's). TP_ERR_CONFIG
 * with why for a bad URL (scheme against the TLS settings) or no room (TP_PEERS_MAX). */
tp_err tp_add_peer(tp_net *net, const char *url, uint32_t *peer, char *why, size_t why_cap);

/* How many peers this node's dialers are connected to now (0..peer_count - 1): a link
 * counts from its connection (TCP, and TLS's handshake) until it closes, whatever the peer
 * sends; a peer that is down or unreachable does not count while nng redials. Safe from any
 * thread (nng's pipe events keep the counts). */
uint32_t tp_peer_connections(const tp_net *net);

/* Queue a copy of data for peer; never blocks. */
tp_err tp_send(tp_net *net, uint32_t peer, const void *data, size_t len);

/* Receive the next message from any peer, waiting at most timeout_ms
 * (0: do not wait). On TP_OK *data is a buffer the caller frees with
 * tp_free(*data, *len). */
tp_err tp_recv(tp_net *net, int timeout_ms, uint8_t **data, size_t *len);
void tp_free(uint8_t *data, size_t len);

/* ---- client API: request/reply (nng req/rep) ----------------------------------------
 * The server listens on one URL with a rep socket and serves up to `contexts` requests at
 * once (one nng context, aio and reply buffer each, all allocated at open). Each request
 * is handed to handler on an nng worker thread; several handlers may run concurrently, so
 * the handler must be thread safe. A request larger than max_message_bytes is dropped by
 * nng (which closes that connection); everything else gets the handler's reply.
 * Messages are opaque here: client_api.h gives them meaning. */
#define TP_SERVER_CONTEXTS_MAX 64

/* Handle one request; write the reply (at most reply_cap bytes) to reply and return its
 * length (0: send no reply and let the client time out). Called concurrently. */
typedef size_t (*tp_handler)(void *ctx, const uint8_t *request, size_t request_len,
                             uint8_t *reply, size_t reply_cap);

typedef struct tp_server tp_server;

/* Listen on url; contexts in 1..TP_SERVER_CONTEXTS_MAX; max_message_bytes bounds both
 * requests and replies. On failure why names the URL (or the TLS file) and nng's reason.
 * tls NULL: plain TCP. Else cert_key_file is required and presented to clients; a client
 * certificate is optional (clients authenticate by the signatures on their requests) and,
 * when ca_file is given and a client presents one, must chain to that CA.
 * tp_server_open is tp_server_open_tls with tls NULL. */
tp_err tp_server_open_tls(const char *url, const tp_tls *tls, tp_handler handler, void *ctx,
                          int contexts, size_t max_message_bytes, tp_server **out, char *why,
                          size_t why_cap);
tp_err tp_server_open(const char *url, tp_handler handler, void *ctx, int contexts,
                      size_t max_message_bytes, tp_server **out, char *why, size_t why_cap);
/* Stop serving: waits for handlers in progress, then frees everything. */
void tp_server_close(tp_server *server);

typedef struct tp_client tp_client;

/* Dial url (in the background: the server may come up later; nng redials).
 * tls NULL: plain TCP. Else ca_file is required (the server's certificate must chain to it;
 * a server that fails is never talked to, and requests time out) and cert_key_file, when
 * given, is presented. tp_client_open is tp_client_open_tls with tls NULL. */
tp_err tp_client_open_tls(const char *url, const tp_tls *tls, size_t max_message_bytes,
                          tp_client **out, char *why, size_t why_cap);
tp_err tp_client_open(const char *url, size_t max_message_bytes, tp_client **out, char *why,
                      size_t why_cap);
void tp_client_close(tp_client *client);
/* Send one request and wait at most timeout_ms for its reply. On TP_OK *reply is a
 * buffer the caller frees with tp_free(*reply, *reply_len). One request at a time per
 * client (not thread safe: one client per thread). */
tp_err tp_client_request(tp_client *client, const void *request, size_t request_len,
                         int timeout_ms, uint8_t **reply, size_t *reply_len);

#endif
