/*
 * transport.c - the only file of trialreg that includes nng.
 */
#include "transport.h"

#include <dirent.h>
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

struct tp_net {
    nng_socket inbox;                 /* pull, listening */
    nng_socket outbox[TP_PEERS_MAX];  /* push, one dialer each */
    bool has_outbox[TP_PEERS_MAX];
    uint32_t peer_count;
    size_t max_message_bytes;
    int recv_timeout_ms;              /* the value currently set on inbox */
    struct tp_guard_s *guard;         /* the inbox's listener and its pipes */
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

/* ---- connection guard (issue 14 D) -------------------------------------------------------
 * Every accepted connection costs a file descriptor, and so does every file the node opens
 * (LevelDB's tables and logs, pbft.state, status.json). Without bounds ~1,000 idle
 * connections took a default process's 1,024 and the node stopped on its next state write.
 * A guard watches one listening socket:
 *  - pipes: when a connection has finished nng's SP handshake (NNG_PIPE_EV_ADD_PRE) it is
 *    admitted only within pipes_max for the listener and per_address_max for its remote
 *    address; when either is full, the pipe idle the longest (at least TP_EVICT_IDLE_MS) in
 *    that scope is closed to make room, or else the newcomer is closed;
 *  - idle: a pipe that delivered nothing for idle_ms is closed (a client redials);
 *  - descriptors: connections still in the handshake are invisible to the API (nng closes
 *    them after its own 10 s), so the monitor probes the lowest free descriptor every
 *    TP_MONITOR_TICK_US (a burst fills them from the bottom) and counts the process's open
 *    descriptors every TP_FD_COUNT_MS and, above fd_trip, closes the client API's listener
 *    (which closes its pipes and half-open connections) for 50 ms, doubling up to 2 s while
 *    the pressure keeps coming back (guard_shut); the peers'
 *    listener trips later (half the reserve) and only if its own port holds more
 *    connections than it admits pipes (/proc/net/tcp), so a flood of the client port never
 *    cuts the validators apart: what is left in reserve stays for the
 *    store and the state file.
 * The limits come from RLIMIT_NOFILE at open (tp_guard_limits). */
#define TP_GUARD_PIPES_MAX 1024
#define TP_GUARDS_MAX 8
#define TP_FD_RESERVE_MIN 128      /* LevelDB's tables (64) and logs, state/status files, nng */
#define TP_EVICT_IDLE_MS 1000
#define TP_MONITOR_TICK_US 2000    /* the cheap probe (fds_open_at_least) */
#define TP_FD_COUNT_MS 20          /* the full count (fds_open) */
#define TP_IDLE_SWEEP_MS 250
#define TP_CLOSED_MIN_MS 50         /* a listener closed under pressure stays closed this long, */
#define TP_CLOSED_MAX_MS 2000       /* doubling while the pressure keeps coming back */
#define TP_FLOOD_OVER_MS 1000       /* pressure this long after the last reopening is a new one */
#define TP_CLIENT_IDLE_MS 10000
#define TP_PEER_IDLE_MS 60000

typedef struct {
    uint32_t pipe_id;
    uint8_t address[16];
    int64_t last_ms;      /* accepted, or last message received */
} tp_conn;

typedef struct tp_guard_s {
    pthread_mutex_t lock;
    nng_socket sock;
    nng_listener listener;
    bool listening;
    char url[TP_URL_MAX];
    nng_tls_config *tls;  /* held for re-listening; NULL without TLS */
    int pipes_max, per_address_max, idle_ms, fd_trip;
    bool check_port;      /* restart only if its own port holds more than pipes_max */
    int64_t restarted_ms;  /* when the listener was last closed under pressure */
    int64_t closed_until_ms; /* not listening before this */
    int closed_ms;         /* how long it stayed closed the last time */
    int count;
    tp_conn conns[TP_GUARD_PIPES_MAX];
} tp_guard;

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* The soft limit of open descriptors, clamped to what a guard can use. */
static int fd_limit(void)
{
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) != 0 || r.rlim_cur == RLIM_INFINITY || r.rlim_cur > (1 << 20))
        return 1 << 20;
    return (int)r.rlim_cur;
}

/* At least how many descriptors are open, cheaply: the lowest free descriptor number (new
 * descriptors take the lowest free number, so a burst of accepted connections raises it).
 * The limit itself when there is none free. */
static int fds_open_at_least(void)
{
    int fd = fcntl(0, F_DUPFD, 0);
    if (fd < 0) fd = fcntl(1, F_DUPFD, 0);
    if (fd < 0) return errno == EMFILE ? fd_limit() : 0;
    close(fd);
    return fd;
}

/* Open descriptors of this process; the limit itself when even that cannot be counted. */
static int fds_open(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d) return fd_limit();
    int n = -3; /* ".", ".." and the directory's own descriptor */
    while (readdir(d)) n++;
    closedir(d);
    return n;
}

/* A guard's limits for a listener, given its idle timeout and how much of the descriptor
 * budget (limit - reserve) its pipes may take (share_percent). */
static void guard_limits(tp_guard *g, int share_percent, int per_address_percent, int idle_ms,
                         int trip_reserve_divisor)
{
    int limit = fd_limit();
    int reserve = limit / 8 > TP_FD_RESERVE_MIN ? limit / 8 : TP_FD_RESERVE_MIN;
    int budget = limit - reserve > 16 ? limit - reserve : 16;
    g->pipes_max = budget * share_percent / 100;
    if (g->pipes_max > TP_GUARD_PIPES_MAX) g->pipes_max = TP_GUARD_PIPES_MAX;
    if (g->pipes_max < 4) g->pipes_max = 4;
    g->per_address_max = g->pipes_max * per_address_percent / 100;
    if (g->per_address_max < 2) g->per_address_max = 2;
    g->idle_ms = idle_ms;
    g->fd_trip = limit - reserve / trip_reserve_divisor;
}

static void pipe_address(nng_pipe p, uint8_t out[16])
{
    nng_sockaddr sa;
    memset(out, 0, 16);
    if (nng_pipe_get_addr(p, NNG_OPT_REMADDR, &sa) != 0) return;
    if (sa.s_family == NNG_AF_INET) memcpy(out, &sa.s_in.sa_addr, 4);
    else if (sa.s_family == NNG_AF_INET6) memcpy(out, sa.s_in6.sa_addr, 16);
}

/* Index of the pipe idle the longest (at least TP_EVICT_IDLE_MS) among those of address
 * (or all, address NULL); -1 if none. Called with the lock held. */
static int oldest_idle(const tp_guard *g, const uint8_t *address, int64_t now)
{
    int best = -1;
    for (int i = 0; i < g->count; i++) {
        const tp_conn *c = &g->conns[i];
        if (address && memcmp(c->address, address, 16) != 0) continue;
        if (now - c->last_ms < TP_EVICT_IDLE_MS) continue;
        if (best < 0 || c->last_ms < g->conns[best].last_ms) best = i;
    }
    return best;
}

static int address_count(const tp_guard *g, const uint8_t *address)
{
    int n = 0;
    for (int i = 0; i < g->count; i++) n += memcmp(g->conns[i].address, address, 16) == 0;
    return n;
}

/* Remove entry i (lock held); returns its pipe id. */
static uint32_t forget(tp_guard *g, int i)
{
    uint32_t id = g->conns[i].pipe_id;
    g->conns[i] = g->conns[--g->count];
    return id;
}

/* Admit pipe p or not; *evicted is a pipe id to close to make room (0: none). Lock held. */
static bool admit(tp_guard *g, nng_pipe p, uint32_t *evicted)
{
    uint8_t address[16];
    pipe_address(p, address);
    int64_t now = now_ms();
    *evicted = 0;
    int victim = -2;
    if (address_count(g, address) >= g->per_address_max) victim = oldest_idle(g, address, now);
    else if (g->count >= g->pipes_max) victim = oldest_idle(g, NULL, now);
    if (victim == -1) return false;
    if (victim >= 0) *evicted = forget(g, victim);
    tp_conn *c = &g->conns[g->count++];
    c->pipe_id = (uint32_t)nng_pipe_id(p);
    memcpy(c->address, address, 16);
    c->last_ms = now;
    return true;
}

static void close_pipe_id(uint32_t id)
{
    if (id == 0) return;
    nng_pipe p = NNG_PIPE_INITIALIZER;
    p.id = id;
    nng_pipe_close(p); /* NNG_ENOENT if it is gone already */
}

static void guard_pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
    tp_guard *g = arg;
    uint32_t id = (uint32_t)nng_pipe_id(p), evicted = 0;
    bool refuse = false;
    pthread_mutex_lock(&g->lock);
    if (ev == NNG_PIPE_EV_ADD_PRE) {
        refuse = !admit(g, p, &evicted);
    } else if (ev == NNG_PIPE_EV_REM_POST) {
        for (int i = 0; i < g->count; i++) {
            if (g->conns[i].pipe_id == id) {
                forget(g, i);
                break;
            }
        }
    }
    pthread_mutex_unlock(&g->lock);
    if (refuse) nng_pipe_close(p);
    close_pipe_id(evicted);
}

/* A message arrived on pipe p: it is not idle. */
static void guard_touch(tp_guard *g, nng_pipe p)
{
    uint32_t id = (uint32_t)nng_pipe_id(p);
    int64_t now = now_ms();
    pthread_mutex_lock(&g->lock);
    for (int i = 0; i < g->count; i++) {
        if (g->conns[i].pipe_id == id) {
            g->conns[i].last_ms = now;
            break;
        }
    }
    pthread_mutex_unlock(&g->lock);
}

/* Close the pipes idle longer than idle_ms. */
static void guard_sweep(tp_guard *g, int64_t now)
{
    uint32_t ids[TP_GUARD_PIPES_MAX];
    int n = 0;
    pthread_mutex_lock(&g->lock);
    for (int i = 0; i < g->count;) {
        if (now - g->conns[i].last_ms > g->idle_ms) ids[n++] = forget(g, i);
        else i++;
    }
    pthread_mutex_unlock(&g->lock);
    for (int i = 0; i < n; i++) close_pipe_id(ids[i]);
}

/* Listen on g->url (with g->tls when set). */
static int guard_listen(tp_guard *g)
{
    int rv = nng_listener_create(&g->listener, g->sock, g->url);
    if (rv != 0) return rv;
    if (g->tls) rv = nng_listener_set_ptr(g->listener, NNG_OPT_TLS_CONFIG, g->tls);
    if (rv == 0) rv = nng_listener_start(g->listener, 0);
    if (rv != 0) nng_listener_close(g->listener);
    g->listening = rv == 0;
    return rv;
}

/* Too many descriptors open: close the listener (its pipes and half-open connections go
 * with it) and keep it closed for a while (the kernel refuses connections meanwhile, which
 * costs no descriptor): TP_CLOSED_MIN_MS, doubling up to TP_CLOSED_MAX_MS while the
 * pressure comes back within TP_FLOOD_OVER_MS. Only the monitor thread calls this. */
static void guard_shut(tp_guard *g, int64_t now)
{
    bool again = g->restarted_ms && now - g->restarted_ms < g->closed_ms + TP_FLOOD_OVER_MS;
    g->closed_ms = again ? g->closed_ms * 2 : TP_CLOSED_MIN_MS;
    if (g->closed_ms > TP_CLOSED_MAX_MS) g->closed_ms = TP_CLOSED_MAX_MS;
    g->restarted_ms = now;
    g->closed_until_ms = now + g->closed_ms;
    if (g->listening) nng_listener_close(g->listener);
    g->listening = false;
}

/* ---- the monitor thread: one per process, for every guard ---------------------------- */

static struct {
    pthread_mutex_t lock;
    pthread_t thread;
    bool running;
    tp_guard *guards[TP_GUARDS_MAX];
} monitor = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Descriptors open: the cheap probe, and the full count every TP_FD_COUNT_MS (holes below
 * the lowest free number hide open descriptors from the probe). */
static int monitor_fds(int64_t now, int64_t *last_count)
{
    int open = fds_open_at_least();
    if (now - *last_count >= TP_FD_COUNT_MS) {
        *last_count = now;
        int counted = fds_open();
        if (counted > open) open = counted;
    }
    return open;
}

/* The TCP port of a listener's URL (0 if it has none). */
static int url_port(const char *url)
{
    const char *colon = strrchr(url, ':');
    return colon ? atoi(colon + 1) : 0;
}

/* Connections (any state but LISTEN) whose local port is port, from /proc/net/tcp and
 * tcp6: the accepted ones of the listener on port, half-open ones included. */
static int port_connections(int port)
{
    static const char *const tables[] = {"/proc/net/tcp", "/proc/net/tcp6"};
    int n = 0;
    for (int t = 0; t < 2; t++) {
        FILE *f = fopen(tables[t], "r");
        if (!f) continue;
        char line[512], local[64];
        unsigned local_port, state;
        while (fgets(line, sizeof line, f)) {
            if (sscanf(line, " %*d: %63[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x", local, &local_port,
                       &state) == 3 && (int)local_port == port && state != 0x0A)
                n++;
        }
        fclose(f);
    }
    return n;
}

/* Whether g should be restarted now that open descriptors are above its trip: a guard that
 * checks its port only if its listener holds more connections than it admits pipes. */
static bool guard_flooded(const tp_guard *g, int open)
{
    if (!g->listening || open <= g->fd_trip) return false;
    return !g->check_port || port_connections(url_port(g->url)) > g->pipes_max;
}

static void monitor_tick(int64_t now, int64_t *last_sweep, int64_t *last_count)
{
    bool sweep = now - *last_sweep >= TP_IDLE_SWEEP_MS;
    if (sweep) *last_sweep = now;
    for (int i = 0; i < TP_GUARDS_MAX; i++) {
        tp_guard *g = monitor.guards[i];
        if (!g) continue;
        if (sweep) guard_sweep(g, now);
    }
    int open = monitor_fds(now, last_count);
    for (int i = 0; i < TP_GUARDS_MAX; i++) {
        tp_guard *g = monitor.guards[i];
        /* reopen once its time is up (a failed attempt is tried again at the next tick); not
         * "once the descriptors are below the trip": nng 1.5.2 was seen to keep the
         * descriptors of half-open connections of a closed listener until it listened again */
        if (g && !g->listening && now >= g->closed_until_ms)
            guard_listen(g);
    }
    /* the clients' listeners first (they trip first), the peers' only if they are flooded */
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < TP_GUARDS_MAX; i++) {
            tp_guard *g = monitor.guards[i];
            if (!g || g->check_port != (pass == 1) || !guard_flooded(g, open)) continue;
            guard_shut(g, now);
            return;
        }
    }
}

static void *monitor_run(void *arg)
{
    (void)arg;
    int64_t last_sweep = now_ms(), last_count = 0;
    for (;;) {
        struct timespec tick = {0, TP_MONITOR_TICK_US * 1000L};
        nanosleep(&tick, NULL);
        pthread_mutex_lock(&monitor.lock);
        bool any = false;
        for (int i = 0; i < TP_GUARDS_MAX; i++) any |= monitor.guards[i] != NULL;
        if (!any) {
            monitor.running = false;
            pthread_mutex_unlock(&monitor.lock);
            return NULL;
        }
        monitor_tick(now_ms(), &last_sweep, &last_count);
        pthread_mutex_unlock(&monitor.lock);
    }
}

/* Watch g from now on. False if TP_GUARDS_MAX are watched already or no thread starts. */
static bool monitor_add(tp_guard *g)
{
    pthread_mutex_lock(&monitor.lock);
    int slot = -1;
    for (int i = 0; i < TP_GUARDS_MAX && slot < 0; i++)
        if (!monitor.guards[i]) slot = i;
    bool ok = slot >= 0;
    if (ok && !monitor.running) {
        if (monitor.thread) pthread_join(monitor.thread, NULL); /* a finished one */
        ok = pthread_create(&monitor.thread, NULL, monitor_run, NULL) == 0;
        monitor.running = ok;
    }
    if (ok) monitor.guards[slot] = g;
    pthread_mutex_unlock(&monitor.lock);
    return ok;
}

static void monitor_remove(tp_guard *g)
{
    pthread_mutex_lock(&monitor.lock);
    for (int i = 0; i < TP_GUARDS_MAX; i++)
        if (monitor.guards[i] == g) monitor.guards[i] = NULL;
    pthread_mutex_unlock(&monitor.lock);
}

/* Start guarding socket s and listen on url through the guard. share_percent: the part of
 * the descriptor budget its pipes may take; trip_reserve_divisor: the listener is restarted
 * when fewer than reserve/divisor descriptors are left. Returns an nng error (0: ok). */
static int guard_open(tp_guard *g, nng_socket s, const char *url, nng_tls_config *tls,
                      int share_percent, int per_address_percent, int idle_ms,
                      int trip_reserve_divisor)
{
    pthread_mutex_init(&g->lock, NULL);
    g->sock = s;
    snprintf(g->url, sizeof g->url, "%s", url);
    g->tls = tls;
    if (tls) nng_tls_config_hold(tls);
    guard_limits(g, share_percent, per_address_percent, idle_ms, trip_reserve_divisor);
    g->check_port = trip_reserve_divisor > 1; /* the peers' listener */
    int rv = nng_pipe_notify(s, NNG_PIPE_EV_ADD_PRE, guard_pipe_event, g);
    if (rv == 0) rv = nng_pipe_notify(s, NNG_PIPE_EV_REM_POST, guard_pipe_event, g);
    if (rv == 0) rv = guard_listen(g);
    if (rv == 0 && !monitor_add(g)) rv = NNG_ENOMEM;
    return rv;
}

/* Stop guarding (before the socket is closed; the guard is freed after). */
static void guard_close(tp_guard *g)
{
    monitor_remove(g);
    if (g->tls) nng_tls_config_free(g->tls);
    g->tls = NULL;
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
    net->guard = calloc(1, sizeof *net->guard);
    if (!net->guard) return fail(why, cap, TP_ERR_SYSTEM, "out of memory for", cfg->listen_url, 0);
    /* peers: a tenth of the descriptor budget, no per-address bound (a local consortium
     * shares one address); restarted only when half the reserve is gone too */
    rv = guard_open(net->guard, net->inbox, cfg->listen_url, tls, 10, 100, TP_PEER_IDLE_MS, 2);
    if (rv != 0) return fail(why, cap, TP_ERR_LISTEN, "cannot listen on", cfg->listen_url, rv);
    net->recv_timeout_ms = -2; /* unset */
    return TP_OK;
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
    rc = open_inbox(net, cfg, tls_server, why, why_cap);
    for (uint32_t p = 0; rc == TP_OK && p < cfg->peer_count; p++) {
        if (cfg->peer_urls[p]) rc = open_outbox(net, p, cfg, tls_client, why, why_cap);
    }
    if (tls_server) nng_tls_config_free(tls_server); /* the endpoints hold their references */
    if (tls_client) nng_tls_config_free(tls_client);
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
    if (net->guard) guard_close(net->guard);
    nng_close(net->inbox);
    if (net->guard) pthread_mutex_destroy(&net->guard->lock);
    free(net->guard);
    free(net);
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
    guard_touch(net->guard, nng_msg_get_pipe(msg));
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
    tp_guard guard;  /* the listener and its pipes */
    bool guarded;
};

/* The request has arrived on w's aio: run the handler and start the reply (or, if the
 * handler sends nothing, go back to receiving). */
static void work_answer(tp_work *w)
{
    tp_server *s = w->server;
    nng_msg *msg = nng_aio_get_msg(w->aio);
    guard_touch(&s->guard, nng_msg_get_pipe(msg));
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
        s->guarded = true;
        rv = guard_open(&s->guard, s->sock, url, tls_cfg, 50, 50, TP_CLIENT_IDLE_MS, 1);
        if (rv != 0) rc = fail(why, why_cap, TP_ERR_LISTEN, "cannot listen on", url, rv);
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
    if (s->guarded) guard_close(&s->guard);
    nng_close(s->sock);
    if (s->guarded) pthread_mutex_destroy(&s->guard.lock);
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
