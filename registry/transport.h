/*
 * transport.h - validator-to-validator messaging over nng (the only nng user).
 *
 * Each node has ONE listener (a pull socket on its own URL) into which every
 * peer pushes, and ONE dialer per peer (a push socket dialing that peer's
 * URL) with nng's automatic reconnect. Messages are opaque byte strings; the
 * transport authenticates nothing: every consensus message is signed, and
 * its signature names the sender (so a peer's address may change freely).
 *
 * Bounds: a message larger than max_message_bytes is refused by the sender
 * and dropped by the receiver (nng closes the offending connection, which
 * then reconnects). Send queues hold send_queue_messages per peer; when a
 * peer is slow or down, tp_send fails with TP_ERR_FULL rather than blocking
 * (PBFT retransmits through its own timers and catch-up).
 *
 * URLs are nng URLs: tcp://127.0.0.1:7101, or tls+tcp://... (nng on Debian has
 * TLS built in; TLS configuration is not wired yet).
 */
#ifndef TRIALREG_TRANSPORT_H
#define TRIALREG_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#define TP_PEERS_MAX 64
#define TP_URL_MAX 256

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

typedef struct {
    const char *listen_url;                /* this node */
    uint32_t peer_count;                   /* entries in peer_urls */
    const char *peer_urls[TP_PEERS_MAX];   /* index = peer id; NULL for self */
    size_t max_message_bytes;              /* e.g. 4 MiB */
    int send_queue_messages;               /* per peer, e.g. 1024 */
    int recv_queue_messages;               /* e.g. 4096 */
    int reconnect_min_ms;                  /* e.g. 50 */
    int reconnect_max_ms;                  /* e.g. 2000 */
} tp_config;

typedef struct tp_net tp_net;

const char *tp_strerror(tp_err err);

/* Listen on cfg->listen_url and start dialing every peer (in the background:
 * peers may come up later). On failure why names the URL and nng's reason. */
tp_err tp_open(const tp_config *cfg, tp_net **out, char *why, size_t why_cap);
void tp_close(tp_net *net);

/* Queue a copy of data for peer; never blocks. */
tp_err tp_send(tp_net *net, uint32_t peer, const void *data, size_t len);

/* Receive the next message from any peer, waiting at most timeout_ms
 * (0: do not wait). On TP_OK *data is a buffer the caller frees with
 * tp_free(*data, *len). */
tp_err tp_recv(tp_net *net, int timeout_ms, uint8_t **data, size_t *len);
void tp_free(uint8_t *data, size_t len);

#endif
