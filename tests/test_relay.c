/*
 * test_relay.c - the front door's hard bounds (issue 14 D), against a plain echo server
 * standing in for nng's loopback listener: bytes pass both ways; never more than
 * conns_max connections are held, however many strangers connect (the rest wait in the
 * kernel's backlog and are admitted as slots free up); half-open connections are closed
 * after first_bytes_ms; a newcomer takes the slot of an idle connection; an address at its
 * bound has its newcomers refused.
 */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "relay.h"

/* ---- an echo server on an ephemeral loopback port (one thread, poll) ---------------- */

static int echo_fd;
static int echo_port;
static pthread_t echo_thread;
static atomic_bool echo_stop;

static void *echo_run(void *arg)
{
    (void)arg;
    struct pollfd fds[256];
    int n = 1;
    fds[0] = (struct pollfd){.fd = echo_fd, .events = POLLIN};
    while (!atomic_load(&echo_stop)) {
        if (poll(fds, (nfds_t)n, 20) <= 0) continue;
        if ((fds[0].revents & POLLIN) && n < 256) {
            int c = accept(echo_fd, NULL, NULL);
            if (c >= 0) fds[n++] = (struct pollfd){.fd = c, .events = POLLIN};
        }
        for (int i = 1; i < n; i++) {
            if (!fds[i].revents) continue;
            char buf[4096];
            ssize_t k = recv(fds[i].fd, buf, sizeof buf, 0);
            if (k > 0 && send(fds[i].fd, buf, (size_t)k, MSG_NOSIGNAL) == k) continue;
            close(fds[i].fd);
            fds[i--] = fds[--n];
        }
    }
    for (int i = 0; i < n; i++) close(fds[i].fd);
    return NULL;
}

static void echo_start(void)
{
    echo_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(bind(echo_fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(listen(echo_fd, 64), 0);
    socklen_t len = sizeof a;
    getsockname(echo_fd, (struct sockaddr *)&a, &len);
    echo_port = ntohs(a.sin_port);
    atomic_store(&echo_stop, false);
    pthread_create(&echo_thread, NULL, echo_run, NULL);
}

static void echo_stop_all(void)
{
    atomic_store(&echo_stop, true);
    pthread_join(echo_thread, NULL);
}

TestSuite(relay, .init = echo_start, .fini = echo_stop_all);

/* ---- helpers ----------------------------------------------------------------------- */

static int door_port;
static char url[64];

static relay *open_relay(int conns_max, int per_address_max, int first_bytes_ms, int idle_ms)
{
    snprintf(url, sizeof url, "tcp://127.0.0.1:0");
    relay_config cfg = {.listen_url = url, .upstream_port = echo_port, .conns_max = conns_max,
                        .per_address_max = per_address_max, .first_bytes_ms = first_bytes_ms,
                        .idle_ms = idle_ms};
    relay *r = NULL;
    char why[200];
    cr_assert_eq(relay_open(&cfg, &r, why, sizeof why), 0, "%s", why);
    door_port = relay_port(r);
    return r;
}

/* A connection to the relay (the kernel completes it even while the relay is full). */
static int dial(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)door_port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0, "connect: %s", strerror(errno));
    return fd;
}

/* Send msg and read its echo within timeout_ms; true if it came back whole. */
static bool echoes(int fd, const char *msg, int timeout_ms)
{
    size_t len = strlen(msg), got = 0;
    char buf[256];
    if (send(fd, msg, len, MSG_NOSIGNAL) != (ssize_t)len) return false;
    while (got < len) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, timeout_ms) <= 0) return false;
        ssize_t k = recv(fd, buf + got, sizeof buf - got, 0);
        if (k <= 0) return false;
        got += (size_t)k;
    }
    return memcmp(buf, msg, len) == 0;
}

static void sleep_ms(int ms)
{
    struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* ---- tests ------------------------------------------------------------------------- */

Test(relay, bytes_pass_both_ways_unchanged)
{
    relay *r = open_relay(8, 8, 2000, 10000);
    int fd = dial();
    cr_assert(echoes(fd, "hello through the door", 2000));
    char big[200];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cr_assert(echoes(fd, big, 2000));
    close(fd);
    relay_close(r);
}

Test(relay, never_holds_more_than_its_bound_and_admits_the_waiting_as_slots_free)
{
    /* 40 strangers connect and stay silent; the relay holds at most 10 of them at any
     * moment; each is closed as half-open after 300 ms, so all 40 pass through, and a
     * client that comes last is served. */
    relay *r = open_relay(10, 10, 300, 10000);
    int strangers[40];
    for (int i = 0; i < 40; i++) strangers[i] = dial();
    int most = 0;
    for (int t = 0; t < 150; t++) {
        relay_stats s = relay_get_stats(r);
        if (s.conns > most) most = s.conns;
        cr_assert_leq(s.conns, 10, "the relay holds %d connections (bound 10)", s.conns);
        if (s.timed_out + s.evicted >= 40) break;
        sleep_ms(20);
    }
    relay_stats s = relay_get_stats(r);
    cr_assert_eq(most, 10, "the bound was reached (%d)", most);
    cr_assert_geq(s.timed_out + s.evicted, 40, "every silent stranger was let go (%ld, %ld)",
                  s.timed_out, s.evicted);
    int fd = dial();
    cr_assert(echoes(fd, "served after the flood", 3000));
    close(fd);
    for (int i = 0; i < 40; i++) close(strangers[i]);
    relay_close(r);
}

Test(relay, a_newcomer_takes_the_slot_of_an_idle_connection)
{
    relay *r = open_relay(4, 4, 10000, 10000);
    int idle[4];
    for (int i = 0; i < 4; i++) {
        idle[i] = dial();
        cr_assert(echoes(idle[i], "hi", 2000)); /* past its first bytes, then idle */
    }
    sleep_ms(RELAY_EVICT_MS + 100);
    int fd = dial();
    cr_assert(echoes(fd, "room for me", 3000), "the newcomer was not admitted");
    relay_stats s = relay_get_stats(r);
    cr_assert_eq(s.evicted, 1);
    cr_assert_leq(s.conns, 4);
    close(fd);
    for (int i = 0; i < 4; i++) close(idle[i]);
    relay_close(r);
}

Test(relay, an_address_at_its_bound_has_busy_newcomers_refused)
{
    relay *r = open_relay(8, 2, 10000, 10000);
    int a = dial(), b = dial();
    cr_assert(echoes(a, "a", 2000));
    cr_assert(echoes(b, "b", 2000));
    int c = dial(); /* a and b were active just now: not evictable */
    char byte;
    struct pollfd p = {.fd = c, .events = POLLIN};
    cr_assert_eq(poll(&p, 1, 2000), 1, "the third connection of one address was not closed");
    cr_assert_leq(recv(c, &byte, 1, 0), 0);
    cr_assert_eq(relay_get_stats(r).refused, 1);
    close(a);
    close(b);
    close(c);
    relay_close(r);
}

Test(relay, a_bad_address_is_refused_with_its_name)
{
    relay_config cfg = {.listen_url = "tcp://nonsense", .upstream_port = 1, .conns_max = 1,
                        .per_address_max = 1, .first_bytes_ms = 1, .idle_ms = 1};
    relay *r = NULL;
    char why[200];
    cr_assert_eq(relay_open(&cfg, &r, why, sizeof why), -1);
    cr_assert(strstr(why, "tcp://nonsense") != NULL, "%s", why);
}

/* ---- review: no busy loop, no lost bytes, no stranger evicting a working link ------- */

static long wall_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

Test(relay, at_its_bound_with_newcomers_waiting_the_relay_does_not_spin)
{
    /* 4 working clients fill the relay; 4 more wait in the backlog. The relay must sleep
     * in epoll (the listening socket unpolled), not wake at once again and again. */
    relay *r = open_relay(4, 4, 10000, 10000);
    int held[4], waiting[4];
    for (int i = 0; i < 4; i++) {
        held[i] = dial();
        cr_assert(echoes(held[i], "w", 2000));
    }
    for (int i = 0; i < 4; i++) waiting[i] = dial();
    long w0 = wall_ms(), t0 = relay_get_stats(r).turns;
    while (wall_ms() - w0 < 1000) { /* keep them working: never idle for RELAY_EVICT_MS */
        for (int i = 0; i < 4; i++) cr_assert(echoes(held[i], "w", 2000));
        sleep_ms(50);
    }
    long wall = wall_ms() - w0, turns = relay_get_stats(r).turns - t0;
    cr_assert_leq(relay_get_stats(r).conns, 4);
    /* a tick every 50 ms, and each echo wakes it a few times: about 20 + 16 x 4 x 4 */
    cr_assert_lt(turns, 2000, "the relay woke %ld times in %ld ms (a busy loop)", turns, wall);
    for (int i = 0; i < 4; i++) close(held[i]);
    /* the waiting ones are admitted as the slots free */
    for (int i = 0; i < 4; i++) cr_assert(echoes(waiting[i], "in", 3000));
    for (int i = 0; i < 4; i++) close(waiting[i]);
    relay_close(r);
}

Test(relay, out_of_descriptors_the_relay_waits_instead_of_spinning_and_recovers)
{
    relay *r = open_relay(8, 8, 10000, 10000);
    struct rlimit lim = {64, 64};
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &lim), 0);
    int fill[64], nfill = 0, fd;
    while ((fd = dup(0)) >= 0) fill[nfill++] = fd;
    cr_assert_gt(nfill, 0);
    close(fill[--nfill]);  /* room for our own end only: the relay's accept gets EMFILE */
    int c = dial();
    long w0 = wall_ms(), t0 = relay_get_stats(r).turns;
    sleep_ms(700);
    long wall = wall_ms() - w0, turns = relay_get_stats(r).turns - t0;
    /* a tick every 50 ms (accept is tried again at each) */
    cr_assert_lt(turns, 200, "the relay woke %ld times in %ld ms (a busy loop)", turns, wall);
    for (int i = 0; i < 8 && nfill > 0; i++) close(fill[--nfill]);
    cr_assert(echoes(c, "after EMFILE", 3000), "not admitted once descriptors were free");
    close(c);
    while (nfill > 0) close(fill[--nfill]);
    relay_close(r);
}

/* Send n pattern bytes on fd while reading the echo back; true if every byte came back
 * in order. */
static bool echoes_bulk(int fd, size_t n, int timeout_ms)
{
    static uint8_t out[65536], in[65536];
    size_t sent = 0, got = 0;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    while (got < n) {
        struct pollfd p = {.fd = fd, .events = POLLIN | (sent < n ? POLLOUT : 0)};
        if (poll(&p, 1, timeout_ms) <= 0) return false;
        if ((p.revents & POLLOUT) && sent < n) {
            size_t k = n - sent < sizeof out ? n - sent : sizeof out;
            for (size_t i = 0; i < k; i++) out[i] = (uint8_t)((sent + i) * 2654435761u >> 13);
            ssize_t w = send(fd, out, k, MSG_NOSIGNAL);
            if (w < 0 && errno != EAGAIN) return false;
            if (w > 0) sent += (size_t)w;
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t k = recv(fd, in, sizeof in, 0);
            if (k == 0) return false;
            if (k < 0 && errno != EAGAIN) return false;
            for (ssize_t i = 0; i < k; i++)
                if (in[i] != (uint8_t)((got + (size_t)i) * 2654435761u >> 13)) return false;
            if (k > 0) got += (size_t)k;
        }
    }
    return true;
}

Test(relay, eight_mebibytes_pass_both_ways_in_order)
{
    relay *r = open_relay(8, 8, 2000, 10000);
    int fd = dial();
    cr_assert(echoes_bulk(fd, 8u << 20, 5000), "8 MiB did not come back whole and in order");
    close(fd);
    relay_close(r);
}

Test(relay, a_strangers_silent_connections_do_not_evict_a_working_link)
{
    /* A peer link moved bytes, then is quiet (a validator between two batches). Strangers
     * dial and send nothing: their half-open connections must not take the link's slot (a
     * flood of them would cut every quiet peer link, again and again). */
    relay *r = open_relay(4, 4, 10000, 10000);
    int link = dial();
    cr_assert(echoes(link, "prepare", 2000));
    int strangers[3];
    for (int i = 0; i < 3; i++) strangers[i] = dial();
    sleep_ms(RELAY_EVICT_MS + 150); /* all four idle past RELAY_EVICT_MS; the link the longest */
    int late[3];
    for (int i = 0; i < 3; i++) late[i] = dial();
    sleep_ms(300);
    cr_assert(echoes(link, "commit", 2000), "the working link was evicted for a stranger");
    close(link);
    for (int i = 0; i < 3; i++) close(strangers[i]);
    for (int i = 0; i < 3; i++) close(late[i]);
    relay_close(r);
}

/* ---- descriptors: every way a connection ends gives back both of its ---------------- */

#include <dirent.h>

static int open_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    while (readdir(d)) n++;
    closedir(d);
    return n;
}

/* true if fd reads end of stream (or a reset) within timeout_ms */
static bool sees_end(int fd, int timeout_ms)
{
    char buf[64];
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, timeout_ms) <= 0) return false;
        ssize_t k = recv(fd, buf, sizeof buf, 0);
        if (k <= 0) return true;
    }
}

Test(relay, an_upstream_that_refuses_costs_no_descriptor)
{
    int before = open_fds();
    /* a port nothing listens on: bind one, read its number, close it */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    cr_assert_eq(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    getsockname(s, (struct sockaddr *)&a, &len);
    close(s);
    relay_config cfg = {.listen_url = "tcp://127.0.0.1:0", .upstream_port = ntohs(a.sin_port),
                        .conns_max = 8, .per_address_max = 8, .first_bytes_ms = 2000,
                        .idle_ms = 10000};
    relay *r = NULL;
    char why[200];
    cr_assert_eq(relay_open(&cfg, &r, why, sizeof why), 0, "%s", why);
    door_port = relay_port(r);
    int with_relay = open_fds();
    for (int i = 0; i < 20; i++) {
        int fd = dial();
        cr_assert_eq(send(fd, "x", 1, MSG_NOSIGNAL), 1);
        cr_assert(sees_end(fd, 2000), "the relay kept a connection whose upstream refused");
        close(fd);
    }
    for (int t = 0; t < 100 && relay_get_stats(r).conns > 0; t++) sleep_ms(10);
    cr_assert_eq(relay_get_stats(r).conns, 0);
    cr_assert_eq(open_fds(), with_relay, "descriptors leaked: %d, were %d", open_fds(), with_relay);
    relay_close(r);
    cr_assert_eq(open_fds(), before, "relay_close left %d descriptors, were %d", open_fds(), before);
}

Test(relay, relay_close_with_live_connections_closes_them_all)
{
    int before = open_fds();
    relay *r = open_relay(8, 8, 2000, 10000);
    int fds[6];
    for (int i = 0; i < 6; i++) {
        fds[i] = dial();
        if (i < 4) cr_assert(echoes(fds[i], "live", 2000)); /* 2 stay half-open */
    }
    /* one with bytes in flight as the relay closes */
    static char big[1 << 20];
    memset(big, 'y', sizeof big);
    fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
    cr_assert_gt(send(fds[0], big, sizeof big, MSG_NOSIGNAL), 0);
    relay_close(r);
    for (int i = 0; i < 6; i++) cr_assert(sees_end(fds[i], 2000), "connection %d still open", i);
    for (int i = 0; i < 6; i++) close(fds[i]);
    sleep_ms(100); /* the echo server closes its ends */
    cr_assert_eq(open_fds(), before, "%d descriptors open, were %d", open_fds(), before);
}

/* ---- addresses: [v6], * ------------------------------------------------------------- */

static int dial_to(int family, const char *address, int port)
{
    int fd = socket(family, SOCK_STREAM, 0);
    int rc;
    if (family == AF_INET6) {
        struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
        inet_pton(AF_INET6, address, &a.sin6_addr);
        rc = connect(fd, (struct sockaddr *)&a, sizeof a);
    } else {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        inet_pton(AF_INET, address, &a.sin_addr);
        rc = connect(fd, (struct sockaddr *)&a, sizeof a);
    }
    cr_assert_eq(rc, 0, "connect to %s: %s", address, strerror(errno));
    return fd;
}

static relay *open_at(const char *at)
{
    relay_config cfg = {.listen_url = at, .upstream_port = echo_port, .conns_max = 4,
                        .per_address_max = 1, .first_bytes_ms = 2000, .idle_ms = 10000};
    relay *r = NULL;
    char why[200];
    cr_assert_eq(relay_open(&cfg, &r, why, sizeof why), 0, "%s", why);
    return r;
}

Test(relay, listens_on_an_ipv6_address_and_bounds_it_per_address)
{
    int probe = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 lo = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    bool v6 = probe >= 0 && bind(probe, (struct sockaddr *)&lo, sizeof lo) == 0;
    if (probe >= 0) close(probe);
    if (!v6) cr_skip_test("no IPv6 loopback here");
    relay *r = open_at("tcp://[::1]:0");
    int a = dial_to(AF_INET6, "::1", relay_port(r));
    cr_assert(echoes(a, "over v6", 2000));
    int b = dial_to(AF_INET6, "::1", relay_port(r)); /* ::1 has 1 slot, a just worked */
    cr_assert(sees_end(b, 2000), "the second connection of ::1 was not refused");
    cr_assert_eq(relay_get_stats(r).refused, 1);
    close(a);
    close(b);
    relay_close(r);
}

Test(relay, listens_on_star_as_any_address)
{
    relay *r = open_at("tcp://*:0");
    int a = dial_to(AF_INET, "127.0.0.1", relay_port(r));
    cr_assert(echoes(a, "any address", 2000));
    close(a);
    relay_close(r);
}
