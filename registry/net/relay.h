/*
 * relay.h - a TCP front door with hard bounds (issue 14 D).
 *
 * nng accepts every connection the kernel hands it before any hook of ours runs, so a
 * stranger's burst of connections could take every file descriptor of a validator and stop
 * it on its next LevelDB or state-file open. A relay owns the public listening socket
 * instead and accepts only while it is under its bounds; nng listens on a loopback port and
 * sees only the relay's connections. The relay copies bytes in both directions without
 * reading them (TLS, when configured, runs end to end between the client and nng).
 *
 * Bounds, each a hard one:
 *  - at most conns_max connections; at the bound the listening socket is not polled, so the
 *    kernel's backlog (and then its refusals) absorbs a flood at no descriptor cost, except
 *    that a newcomer may take the slot of a connection idle for at least RELAY_EVICT_MS;
 *  - at most per_address_max of one remote address (the newcomer takes the slot of that
 *    address's longest-idle connection, or is closed);
 *  - a connection that sent no byte within first_bytes_ms is closed (half-open);
 *  - one that sent nothing for idle_ms is closed (its client redials).
 * Descriptors: one per connection before its first byte, three after (the client's, the
 * relay's upstream socket and nng's accepted end), so at most 3 x conns_max in all.
 * Only this file and transport.c know sockets; the relay knows nothing of nng.
 */
#ifndef TRIALREG_RELAY_H
#define TRIALREG_RELAY_H

#include <stddef.h>

#define RELAY_EVICT_MS 250  /* a newcomer may take the slot of one idle this long */

typedef struct {
    const char *listen_url;   /* tcp://HOST:PORT or tls+tcp://HOST:PORT (HOST may be * or [v6]) */
    int upstream_port;        /* 127.0.0.1:upstream_port, where nng listens */
    int conns_max;
    int per_address_max;
    int first_bytes_ms;
    int idle_ms;
} relay_config;

typedef struct relay relay;

/* Bind and listen on cfg->listen_url and start the relay's thread. Returns 0, or -1 with
 * why naming the address and the reason. */
int relay_open(const relay_config *cfg, relay **out, char *why, size_t why_cap);
/* Stop the thread and close every connection. */
void relay_close(relay *r);

/* Counters for tests and logs. */
typedef struct {
    int conns;            /* open now */
    long accepted;
    long refused;         /* closed at once: its address was full */
    long evicted;         /* closed to make room for a newcomer */
    long timed_out;       /* half-open past first_bytes_ms, or idle past idle_ms */
    long turns;           /* epoll waits returned (about 1000 / 50 a second when all is quiet) */
} relay_stats;
relay_stats relay_get_stats(relay *r);
/* The port the relay listens on (the one chosen by the system for port 0). */
int relay_port(relay *r);

#endif
