/*
 * relay.c - a TCP front door with hard bounds (relay.h says what and why).
 *
 * One thread per relay, one epoll set: the listening socket, a wake-up eventfd and both
 * ends of every connection. Each direction has one buffer: it is read into only when
 * empty and written out until empty, so a slow reader stops its writer (no unbounded
 * memory). A connection that fails or closes on either side is closed on both; its memory
 * is freed after the batch of events that may still name it.
 */
#define _GNU_SOURCE
#include "relay.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RELAY_BUF 16384
#define RELAY_TICK_MS 50
#define RELAY_EVENTS 64
#define RELAY_BACKLOG 128
#define RELAY_ACCEPTS_PER_TURN 64

enum { CLIENT = 0, UPSTREAM = 1 };
enum { TAG_LISTEN = 1, TAG_WAKE = 2 };

typedef struct conn conn;

typedef struct {
    conn *c;   /* NULL for the listening socket and the eventfd (kind says which) */
    int side;
    int kind;
} tag;

struct conn {
    int fd[2];            /* the client's, the upstream one (-1 until the first byte) */
    tag tags[2];
    uint32_t interest[2]; /* what epoll watches on each fd */
    bool registered[2];
    bool connecting;      /* the upstream connect has not completed */
    bool dead;
    uint8_t *buf[2];      /* buf[s]: bytes read from side s, not yet written to the other */
    size_t len[2], off[2];
    uint8_t address[16];
    int64_t accepted_ms, last_ms; /* last byte in either direction */
    bool got_bytes;
};

struct relay {
    relay_config cfg;
    int listen_fd, epoll_fd, wake_fd;
    bool polling_listen;  /* the listening socket is in the epoll set with EPOLLIN */
    int64_t accept_retry_ms; /* accept failed for want of resources: not before this */
    tag listen_tag, wake_tag;
    struct sockaddr_in upstream;
    pthread_t thread;
    atomic_bool stop;
    conn **conns;         /* live ones, then dead ones until the end of the turn */
    int count, cap, live;
    pthread_mutex_t stats_lock;
    relay_stats stats;
};

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void count_stat(relay *r, long *field)
{
    pthread_mutex_lock(&r->stats_lock);
    (*field)++;
    r->stats.conns = r->live;
    pthread_mutex_unlock(&r->stats_lock);
}

/* ---- connections ----------------------------------------------------------------- */

static void kill_conn(relay *r, conn *c)
{
    if (c->dead) return;
    c->dead = true;
    r->live--;
    for (int s = 0; s < 2; s++) {
        if (c->fd[s] < 0) continue;
        epoll_ctl(r->epoll_fd, EPOLL_CTL_DEL, c->fd[s], NULL);
        close(c->fd[s]);
        c->fd[s] = -1;
    }
    pthread_mutex_lock(&r->stats_lock);
    r->stats.conns = r->live;
    pthread_mutex_unlock(&r->stats_lock);
}

/* Free the dead connections (no event of this turn names them any more). */
static void reap(relay *r)
{
    int kept = 0;
    for (int i = 0; i < r->count; i++) {
        conn *c = r->conns[i];
        if (!c->dead) {
            r->conns[kept++] = c;
            continue;
        }
        free(c->buf[0]);
        free(c);
    }
    r->count = kept;
}

/* Watch fd side s of c for what it can do now: read when its buffer is empty, write when
 * the other side's buffer holds bytes (or the connect is pending). */
static bool update_interest(relay *r, conn *c)
{
    for (int s = 0; s < 2; s++) {
        if (c->fd[s] < 0) continue;
        uint32_t want = 0;
        if (c->len[s] == 0 && !(s == UPSTREAM && c->connecting)) want |= EPOLLIN;
        if (c->len[1 - s] > 0 || (s == UPSTREAM && c->connecting)) want |= EPOLLOUT;
        if (c->registered[s] && want == c->interest[s]) continue;
        struct epoll_event ev = {.events = want, .data.ptr = &c->tags[s]};
        int op = c->registered[s] ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
        if (epoll_ctl(r->epoll_fd, op, c->fd[s], &ev) != 0) return false;
        c->registered[s] = true;
        c->interest[s] = want;
    }
    return true;
}

static void nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* The first byte arrived: connect to nng's loopback listener. */
static bool connect_upstream(relay *r, conn *c)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    nodelay(fd);
    c->fd[UPSTREAM] = fd;
    if (connect(fd, (const struct sockaddr *)&r->upstream, sizeof r->upstream) == 0) return true;
    c->connecting = errno == EINPROGRESS;
    return c->connecting;
}

/* Write what was read from side s to the other side. False on a broken connection. */
static bool flush(conn *c, int s)
{
    int to = 1 - s;
    if (c->len[s] == 0 || c->fd[to] < 0 || (to == UPSTREAM && c->connecting)) return true;
    ssize_t n = send(c->fd[to], c->buf[s] + c->off[s], c->len[s] - c->off[s], MSG_NOSIGNAL);
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    c->off[s] += (size_t)n;
    if (c->off[s] == c->len[s]) c->len[s] = c->off[s] = 0;
    return true;
}

/* Side s is readable. False on end of stream or an error. */
static bool pull(relay *r, conn *c, int s, int64_t now)
{
    if (c->len[s] != 0) return true;
    ssize_t n = recv(c->fd[s], c->buf[s], RELAY_BUF, 0);
    if (n == 0) return false;
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    c->len[s] = (size_t)n;
    c->off[s] = 0;
    c->last_ms = now;
    if (s == CLIENT && !c->got_bytes) {
        c->got_bytes = true;
        if (!connect_upstream(r, c)) return false;
    }
    return flush(c, s);
}

static bool connect_done(conn *c)
{
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd[UPSTREAM], SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)
        return false;
    c->connecting = false;
    return flush(c, CLIENT);
}

static void conn_event(relay *r, conn *c, int s, uint32_t events, int64_t now)
{
    if (c->dead || c->fd[s] < 0) return;
    /* an error or a hang-up: the other end is gone, nothing more can be delivered to it */
    bool ok = !(events & (EPOLLERR | EPOLLHUP));
    if (ok && (events & EPOLLOUT)) {
        if (s == UPSTREAM && c->connecting) ok = connect_done(c);
        else ok = flush(c, 1 - s);
        if (ok && c->len[1 - s] == 0) c->last_ms = now;
    }
    if (ok && (events & EPOLLIN)) ok = pull(r, c, s, now);
    if (ok) ok = update_interest(r, c);
    if (!ok) kill_conn(r, c);
}

/* ---- admission ------------------------------------------------------------------- */

static void sockaddr_bytes(const struct sockaddr_storage *sa, uint8_t out[16])
{
    memset(out, 0, 16);
    if (sa->ss_family == AF_INET)
        memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    else if (sa->ss_family == AF_INET6)
        memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
}

/* The live connection to evict for a newcomer, of address or of all (address NULL): one
 * idle for at least RELAY_EVICT_MS, a half-open one (no byte yet) before any that has
 * moved bytes, and of those the one idle the longest; NULL if none. Half-open ones go
 * first: otherwise a stranger's silent connections, each taking a slot and then idle,
 * would cut every quiet link that works (a validator's peers between two batches). */
static conn *oldest_idle(relay *r, const uint8_t *address, int64_t now)
{
    conn *best = NULL;
    for (int i = 0; i < r->count; i++) {
        conn *c = r->conns[i];
        if (c->dead || (address && memcmp(c->address, address, 16) != 0)) continue;
        if (now - c->last_ms < RELAY_EVICT_MS) continue;
        if (!best || (best->got_bytes && !c->got_bytes)
            || (best->got_bytes == c->got_bytes && c->last_ms < best->last_ms))
            best = c;
    }
    return best;
}

static int address_count(relay *r, const uint8_t *address)
{
    int n = 0;
    for (int i = 0; i < r->count; i++)
        n += !r->conns[i]->dead && memcmp(r->conns[i]->address, address, 16) == 0;
    return n;
}

/* Adds the accepted fd as a connection, or closes it: fd is add_conn's either way. */
static bool add_conn(relay *r, int fd, const uint8_t address[16], int64_t now)
{
    conn *c = calloc(1, sizeof *c);
    uint8_t *bufs = malloc(2 * RELAY_BUF);
    if (!c || !bufs || r->count == r->cap) {
        free(c);
        free(bufs);
        close(fd);
        return false;
    }
    c->fd[CLIENT] = fd;
    c->fd[UPSTREAM] = -1;
    c->buf[CLIENT] = bufs;
    c->buf[UPSTREAM] = bufs + RELAY_BUF;
    c->tags[CLIENT] = (tag){c, CLIENT, 0};
    c->tags[UPSTREAM] = (tag){c, UPSTREAM, 0};
    memcpy(c->address, address, 16);
    c->accepted_ms = c->last_ms = now;
    nodelay(fd);
    r->conns[r->count++] = c;
    r->live++;
    if (!update_interest(r, c)) {
        kill_conn(r, c);
        return false;
    }
    return true;
}

/* Poll the listening socket or not. Level-triggered: while it is polled and a newcomer
 * waits in the backlog, every epoll_wait returns at once, so it must be taken out whenever
 * accept_some stops short of emptying the backlog. */
static void set_listen(relay *r, bool want)
{
    if (want == r->polling_listen) return;
    struct epoll_event ev = {.events = want ? EPOLLIN : 0, .data.ptr = &r->listen_tag};
    if (epoll_ctl(r->epoll_fd, EPOLL_CTL_MOD, r->listen_fd, &ev) == 0) r->polling_listen = want;
}

/* Accept what the bounds allow. At conns_max a newcomer is accepted only if it can take
 * the slot of an idle connection; else the listening socket is left alone (polling_listen
 * off) and the kernel's backlog holds the newcomers. */
static void accept_some(relay *r, int64_t now)
{
    for (int k = 0; k < RELAY_ACCEPTS_PER_TURN; k++) {
        conn *victim = NULL;
        if (r->live >= r->cfg.conns_max && !(victim = oldest_idle(r, NULL, now))) {
            set_listen(r, false);
            return;
        }
        /* No reap here: an event later in this batch may name a connection killed in it.
         * The array has room: at most conns_max live at the start of the turn, plus at most
         * RELAY_ACCEPTS_PER_TURN added in it (the listening socket is one event of a batch). */
        if (r->count == r->cap) {
            set_listen(r, false);
            return;
        }
        struct sockaddr_storage sa;
        socklen_t len = sizeof sa;
        int fd = accept4(r->listen_fd, (struct sockaddr *)&sa, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                /* out of descriptors (something else took them) or of memory: the newcomer
                 * stays in the backlog; try again at the next tick, not at once */
                r->accept_retry_ms = now + RELAY_TICK_MS;
                set_listen(r, false);
            }
            return;
        }
        uint8_t address[16];
        sockaddr_bytes(&sa, address);
        if (address_count(r, address) >= r->cfg.per_address_max) {
            conn *mine = oldest_idle(r, address, now);
            if (!mine) {
                count_stat(r, &r->stats.refused); /* counted before the client can see it */
                close(fd);
                continue;
            }
            victim = mine;
        }
        if (victim) {
            count_stat(r, &r->stats.evicted);
            kill_conn(r, victim);
        }
        if (add_conn(r, fd, address, now)) count_stat(r, &r->stats.accepted);
    }
}

/* Deadlines: half-open connections and idle ones. */
static void sweep(relay *r, int64_t now)
{
    for (int i = 0; i < r->count; i++) {
        conn *c = r->conns[i];
        if (c->dead) continue;
        bool late = c->got_bytes ? now - c->last_ms > r->cfg.idle_ms
                                 : now - c->accepted_ms > r->cfg.first_bytes_ms;
        if (late) {
            count_stat(r, &r->stats.timed_out);
            kill_conn(r, c);
        }
    }
}

/* Poll the listening socket only while a newcomer could be admitted. */
static void listen_interest(relay *r, int64_t now)
{
    bool want = now >= r->accept_retry_ms
                && (r->live < r->cfg.conns_max || oldest_idle(r, NULL, now) != NULL);
    set_listen(r, want);
}

static void *relay_run(void *arg)
{
    relay *r = arg;
    struct epoll_event evs[RELAY_EVENTS];
    int64_t last_sweep = now_ms();
    while (!atomic_load(&r->stop)) {
        int n = epoll_wait(r->epoll_fd, evs, RELAY_EVENTS, RELAY_TICK_MS);
        int64_t now = now_ms();
        count_stat(r, &r->stats.turns);
        for (int i = 0; i < n; i++) {
            tag *t = evs[i].data.ptr;
            if (t->kind == TAG_LISTEN) accept_some(r, now);
            else if (t->kind == 0) conn_event(r, t->c, t->side, evs[i].events, now);
        }
        if (now - last_sweep >= RELAY_TICK_MS) {
            sweep(r, now);
            last_sweep = now;
        }
        reap(r);
        listen_interest(r, now);
    }
    return NULL;
}

/* ---- open / close ---------------------------------------------------------------- */

/* HOST and PORT of tcp://HOST:PORT or tls+tcp://HOST:PORT ([v6] brackets dropped, * or an
 * empty host meaning any address). */
static bool split_url(const char *url, char *host, size_t host_cap, char *port, size_t port_cap)
{
    const char *p = strstr(url, "://");
    if (!p) return false;
    p += 3;
    const char *colon = strrchr(p, ':');
    if (!colon || colon[1] == '\0' || strlen(colon + 1) >= port_cap) return false;
    const char *h = p, *h_end = colon;
    if (*h == '[') {
        if (h_end[-1] != ']') return false;
        h++;
        h_end--;
    }
    size_t hl = (size_t)(h_end - h);
    if (hl >= host_cap) return false;
    memcpy(host, h, hl);
    host[hl] = '\0';
    if (strcmp(host, "*") == 0) host[0] = '\0';
    snprintf(port, port_cap, "%s", colon + 1);
    return true;
}

static int bind_listen(const char *url, char *why, size_t cap)
{
    char host[256], port[16];
    if (!split_url(url, host, sizeof host, port, sizeof port)) {
        snprintf(why, cap, "cannot listen on %s: not a HOST:PORT address", url);
        return -1;
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
    if (gai != 0) {
        snprintf(why, cap, "cannot listen on %s: %s", url, gai_strerror(gai));
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, RELAY_BACKLOG) != 0) {
        snprintf(why, cap, "cannot listen on %s: %s", url, strerror(errno));
        if (fd >= 0) close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

static int watch(int epoll_fd, int fd, tag *t)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = t};
    return epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev);
}

int relay_open(const relay_config *cfg, relay **out, char *why, size_t why_cap)
{
    if (cfg->conns_max < 1 || cfg->per_address_max < 1 || cfg->idle_ms < 1
        || cfg->first_bytes_ms < 1 || cfg->upstream_port <= 0 || cfg->upstream_port > 65535) {
        snprintf(why, why_cap, "relay configuration out of range");
        return -1;
    }
    relay *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(why, why_cap, "out of memory");
        return -1;
    }
    r->cfg = *cfg;
    r->cfg.listen_url = NULL;
    r->cap = 2 * cfg->conns_max + 2 * RELAY_ACCEPTS_PER_TURN;
    r->conns = calloc((size_t)r->cap, sizeof *r->conns);
    r->upstream.sin_family = AF_INET;
    r->upstream.sin_port = htons((uint16_t)cfg->upstream_port);
    r->upstream.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    r->listen_tag.kind = TAG_LISTEN;
    r->wake_tag.kind = TAG_WAKE;
    pthread_mutex_init(&r->stats_lock, NULL);
    r->listen_fd = r->epoll_fd = r->wake_fd = -1;
    if (!r->conns) snprintf(why, why_cap, "out of memory");
    else r->listen_fd = bind_listen(cfg->listen_url, why, why_cap);
    if (r->listen_fd >= 0) {
        r->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
        r->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        bool ok = r->epoll_fd >= 0 && r->wake_fd >= 0
                  && watch(r->epoll_fd, r->listen_fd, &r->listen_tag) == 0
                  && watch(r->epoll_fd, r->wake_fd, &r->wake_tag) == 0
                  && pthread_create(&r->thread, NULL, relay_run, r) == 0;
        if (ok) {
            r->polling_listen = true;
            *out = r;
            return 0;
        }
        snprintf(why, why_cap, "cannot start the relay for %s: %s", cfg->listen_url,
                 strerror(errno));
    }
    if (r->listen_fd >= 0) close(r->listen_fd);
    if (r->epoll_fd >= 0) close(r->epoll_fd);
    if (r->wake_fd >= 0) close(r->wake_fd);
    pthread_mutex_destroy(&r->stats_lock);
    free(r->conns);
    free(r);
    return -1;
}

void relay_close(relay *r)
{
    if (!r) return;
    atomic_store(&r->stop, true);
    uint64_t one = 1;
    if (write(r->wake_fd, &one, sizeof one) < 0) { /* the tick ends the wait anyway */ }
    pthread_join(r->thread, NULL);
    for (int i = 0; i < r->count; i++) kill_conn(r, r->conns[i]);
    reap(r);
    close(r->listen_fd);
    close(r->epoll_fd);
    close(r->wake_fd);
    pthread_mutex_destroy(&r->stats_lock);
    free(r->conns);
    free(r);
}

relay_stats relay_get_stats(relay *r)
{
    pthread_mutex_lock(&r->stats_lock);
    relay_stats s = r->stats;
    pthread_mutex_unlock(&r->stats_lock);
    return s;
}

int relay_port(relay *r)
{
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;
    if (getsockname(r->listen_fd, (struct sockaddr *)&sa, &len) != 0) return 0;
    if (sa.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&sa)->sin_port);
    if (sa.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&sa)->sin6_port);
    return 0;
}
